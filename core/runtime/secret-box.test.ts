import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SecretBox, secretKeyOrFile } from './secret-box.ts';

describe('SecretBox', () => {
  const KEY = 'a-key-of-enough-length-for-tests';
  it('seals so the value does not show, and opens it again', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal('whsec-very-secret');
    expect(sealed).not.toContain('whsec');
    expect(sealed).not.toBe(box.seal('whsec-very-secret')); // fresh nonce each time
    expect(box.open(sealed)).toBe('whsec-very-secret');
  });

  it('refuses a value changed on disk, and one sealed with an unknown key', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal('value');
    const parts = sealed.split(':');
    const ct = Buffer.from(parts[5]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[5] = ct.toString('base64url');
    expect(() => box.open(parts.join(':'))).toThrow();
    expect(() => new SecretBox('another-key-of-enough-length').open(sealed)).toThrow(/not configured/);
  });

  it('opens with a previous key during a rotation, and says what is stale', () => {
    const old = new SecretBox(KEY);
    const next = new SecretBox('the-next-key-of-enough-length', [KEY]);
    const sealed = old.seal('v');
    expect(next.open(sealed)).toBe('v');
    expect(next.stale(sealed)).toBe(true);
    expect(next.stale(next.seal('v'))).toBe(false);
    expect(next.stale('plain-legacy')).toBe(true);
    expect(next.open('plain-legacy')).toBe('plain-legacy');
    expect(() => new SecretBox('short')).toThrow(/at least 16/);
  });

  it('keeps a generated key in a private file when the environment has none', () => {
    const file = `${mkdtempSync(`${tmpdir()}/box-`)}/secret.key`;
    const a = secretKeyOrFile(undefined, file);
    expect(a.source).toBe('file');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(secretKeyOrFile(undefined, file).key).toBe(a.key);
    expect(secretKeyOrFile('from-env-key-1234567', file)).toEqual({ key: 'from-env-key-1234567', source: 'env' });
  });
});
