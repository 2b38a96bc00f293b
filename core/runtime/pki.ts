import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface Issued {
  certPem: string;
  keyPem: string;
}

export interface Authority extends Issued {
  name: string;
}

// Keys come from Node's native generator (RSA 2048, milliseconds); node-forge only builds and signs
// the X.509 structures, which Node cannot do itself.
function keyPair(): { pub: forge.pki.PublicKey; priv: forge.pki.PrivateKey; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { pub: forge.pki.publicKeyFromPem(publicKey), priv: forge.pki.privateKeyFromPem(privateKey), keyPem: privateKey };
}

/**
 * A certificate serial from 16 random bytes (RFC 5280 §4.1.2.2): positive, and minimal in DER. The
 * first byte keeps its high bit clear (a set bit would read as negative) and is never zero, because a
 * leading zero before a byte below 0x80 is padding that OpenSSL refuses when it loads the certificate
 * ("illegal padding"), one certificate in about five hundred.
 */
export function serialHex(random: Buffer): string {
  const bytes = Buffer.from(random);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function base(pub: forge.pki.PublicKey, cn: string, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serialHex(randomBytes(16));
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: cn }]);
  return cert;
}

/** A certificate authority for a demo or a test. Real sites bring their own PKI. */
export function makeAuthority(name: string, days = 3650): Authority {
  const k = keyPair();
  const cert = base(k.pub, name, new Date(Date.now() - 60_000), new Date(Date.now() + days * 86_400_000));
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(k.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { name, certPem: forge.pki.certificateToPem(cert), keyPem: k.keyPem };
}

/**
 * A leaf certificate signed by `ca`: `cn` is the identity (a gateway id or a sensor user for client
 * certificates), `hosts` the names and addresses a server answers on.
 */
export function issueCertificate(ca: Authority, o: { cn: string; hosts?: string[]; usage: 'server' | 'client'; notBefore?: Date; notAfter?: Date }): Issued {
  const k = keyPair();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = base(k.pub, o.cn, o.notBefore ?? new Date(Date.now() - 60_000), o.notAfter ?? new Date(Date.now() + 825 * 86_400_000));
  cert.setIssuer(caCert.subject.attributes);
  const altNames = (o.hosts ?? []).map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: o.usage === 'server', clientAuth: o.usage === 'client' },
    { name: 'subjectKeyIdentifier' },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.keyPem };
}

/** Writes `<name>.pem` and `<name>-key.pem` (private, mode 0600) into `dir`; returns their paths. */
export function writeIssued(dir: string, name: string, issued: Issued): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, issued.certPem);
  writeFileSync(key, issued.keyPem, { mode: 0o600 });
  return { cert, key };
}
