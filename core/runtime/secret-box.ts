import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.ts';

const PREFIX = 'sealed:v1';

/**
 * Encrypts secrets that the server must be able to read back (webhook HMAC secrets) for storage, with
 * AES-256-GCM: a fresh 96-bit nonce per value, and the tag checked on open, so a value changed on disk
 * is refused rather than used. A sealed value names its key by a short id, so a value sealed with the
 * previous key still opens while a rotation is under way.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly current: { id: string; key: Buffer };

  /** `key` seals and opens; `previous` keys only open (during a rotation). */
  constructor(key: string, previous: readonly string[] = []) {
    this.current = derive(key);
    this.keys = new Map([this.current, ...previous.map(derive)].map((k) => [k.id, k.key]));
  }

  get keyId(): string {
    return this.current.id;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [PREFIX, this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** The plain value; a value stored before encryption (no prefix) is returned as it is. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const [, , id, iv, tag, ct] = stored.split(':');
    const key = this.keys.get(id ?? '');
    if (!key) throw new Error(`secret sealed with key ${id}, which is not configured (set VIGIL_SECRET_KEY_OLD during a rotation)`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct!, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Whether `stored` needs sealing again with the current key (plain, or sealed with another key). */
  stale(stored: string): boolean {
    return !SecretBox.isSealed(stored) || stored.split(':')[2] !== this.current.id;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(`${PREFIX}:`);
  }
}

// A key is any string with enough entropy (`openssl rand -base64 32`); SHA-256 turns it into 256 bits.
function derive(key: string): { id: string; key: Buffer } {
  if (key.length < 16) throw new ConfigError('VIGIL_SECRET_KEY', [{ path: '', message: 'the secret key must be at least 16 characters (e.g. openssl rand -base64 32)' }]);
  const k = createHash('sha256').update(`vigil-secret-box\u0000${key}`).digest();
  return { id: createHash('sha256').update(k).digest('hex').slice(0, 8), key: k };
}

/**
 * The key from the environment, or else one kept in a file beside the data (made on first use, mode
 * 0600), which protects a copied database but not a stolen disk: say so once in the log.
 */
export function secretKeyOrFile(fromEnv: string | undefined, file: string): { key: string; source: 'env' | 'file' } {
  if (fromEnv) return { key: fromEnv, source: 'env' };
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return { key: readFileSync(file, 'utf8').trim(), source: 'file' };
}
