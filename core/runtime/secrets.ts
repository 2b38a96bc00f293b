import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

// scrypt with the Node defaults (N=16384, r=8, p=1): about 50 ms per check, paid once per connection.
const KEYLEN = 32;

/** `scrypt$<salt>$<hash>` (base64url); safe to keep in a config file. */
export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(secret, salt, KEYLEN).toString('base64url')}`;
}

export function verifySecret(secret: string, encoded: string): boolean {
  const [scheme, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = scryptSync(secret, Buffer.from(salt, 'base64url'), want.length || KEYLEN);
  return want.length === got.length && timingSafeEqual(want, got);
}

export function isSecretHash(text: string): boolean {
  return /^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/.test(text);
}

export function generateSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
