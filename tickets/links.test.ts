import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signLink, verifyLink } from './links.ts';

const key = randomBytes(32);
const T = 1_800_000_000_000;

describe('customer links', () => {
  const token = signLink(key, { ticketId: 42, purpose: 'survey', expiresAt: T + 1000 });

  it('verifies its own link until it expires', () => {
    expect(verifyLink(key, token, T)).toEqual({ ok: true, claim: { ticketId: 42, purpose: 'survey', expiresAt: T + 1000 } });
    expect(verifyLink(key, token, T + 1001)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a link with any one character changed, another key, or another ticket spliced in', () => {
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const forged = token.slice(0, i) + c + token.slice(i + 1);
      expect(verifyLink(key, forged, T).ok, `changed at ${i}`).toBe(false);
    }
    expect(verifyLink(randomBytes(32), token, T)).toEqual({ ok: false, reason: 'invalid' });
    const other = signLink(key, { ticketId: 43, purpose: 'accept', expiresAt: T + 1000 });
    const spliced = `42.survey.${token.split('.')[2]}.${other.split('.')[3]}`;
    expect(verifyLink(key, spliced, T).ok).toBe(false);
    expect(verifyLink(key, 'x'.repeat(500), T).ok).toBe(false);
    expect(verifyLink(key, '', T).ok).toBe(false);
  });
});
