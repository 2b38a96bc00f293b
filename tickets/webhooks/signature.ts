import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'vigil-signature';
const TOLERANCE_S = 300;

export function sign(secret: string, body: string, atMs: number): string {
  const t = Math.floor(atMs / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * Checks a signature header against the raw body. The timestamp is signed too, and one older or newer
 * than five minutes is refused, so a captured request cannot be replayed later.
 */
export function verify(secret: string, header: string | undefined, body: string, nowMs: number): { ok: true } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header: want t=<unix seconds>,v1=<hex>` };
  if (Math.abs(nowMs / 1000 - t) > TOLERANCE_S) return { ok: false, reason: 'signature timestamp is more than 5 minutes off' };
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const got = Buffer.from(parts.v1, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
