import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { serialHex } from './pki.ts';

// One key for every case: the serial is what is under test, not the key.
const keys = forge.pki.rsa.generateKeyPair(1024);

function selfSigned(serial: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'serial-check' }]);
  cert.setIssuer([{ name: 'commonName', value: 'serial-check' }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

describe('certificate serials', () => {
  // The random bytes that once produced a certificate OpenSSL refused to load: a zero first byte
  // before a byte below 0x80, and the neighbours of that case.
  const edges = [Buffer.alloc(16), Buffer.from(`007f${'11'.repeat(14)}`, 'hex'), Buffer.from('ff'.repeat(16), 'hex'), Buffer.from(`80${'00'.repeat(15)}`, 'hex')];

  it.each(edges.map((b) => [b.toString('hex').slice(0, 6), b] as const))('loads in OpenSSL for random bytes starting %s', (_label, random) => {
    const hex = serialHex(random);
    expect(hex).toHaveLength(32);
    const first = Number.parseInt(hex.slice(0, 2), 16);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(0x80);
    const pem = selfSigned(hex);
    expect(new X509Certificate(pem).serialNumber.toLowerCase()).toBe(hex);
    expect(() => createSecureContext({ cert: pem, key: forge.pki.privateKeyToPem(keys.privateKey) })).not.toThrow();
  });

  it('keeps the random bytes beyond the first', () => {
    const random = Buffer.from(`00${'ab'.repeat(15)}`, 'hex');
    expect(serialHex(random).slice(2)).toBe('ab'.repeat(15));
    expect(random[0]).toBe(0);
  });
});
