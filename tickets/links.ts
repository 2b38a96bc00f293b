import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a customer's link lets them do, once: confirm the fix, or answer the return visit. */
export type LinkPurpose = 'accept' | 'survey';
export interface LinkClaim {
  ticketId: number;
  purpose: LinkPurpose;
  /** Epoch ms after which the link is refused. */
  expiresAt: number;
}
export type LinkCheck = { ok: true; claim: LinkClaim } | { ok: false; reason: 'invalid' | 'expired' };

const B64 = /^[A-Za-z0-9_-]+$/;

/**
 * A link token: `<ticket>.<purpose>.<expiry>.<HMAC-SHA256 of those, base64url>`. The customer needs no
 * account: the server's key is the only way to make one, and changing any character breaks the MAC.
 * That the answer is given once is the ticket's state, not the token's.
 */
export function signLink(key: Buffer, claim: LinkClaim): string {
  const body = `${claim.ticketId}.${claim.purpose}.${claim.expiresAt.toString(36)}`;
  return `${body}.${mac(key, body)}`;
}

export function verifyLink(key: Buffer, token: string, now: number): LinkCheck {
  if (token.length > 200) return { ok: false, reason: 'invalid' };
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'invalid' };
  const [id, purpose, exp, sig] = parts as [string, string, string, string];
  if (!B64.test(sig)) return { ok: false, reason: 'invalid' };
  const want = Buffer.from(mac(key, `${id}.${purpose}.${exp}`));
  const got = Buffer.from(sig);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'invalid' };
  // Only after the MAC: these fields were made by this server.
  const claim: LinkClaim = { ticketId: Number(id), purpose: purpose as LinkPurpose, expiresAt: parseInt(exp, 36) };
  if (now > claim.expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, claim };
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`vigil-link:${body}`).digest('base64url');
}
