/**
 * What to do with a batch after a write attempt, following the failure classes of Telegraf's
 * InfluxDB v2 output (plugins/outputs/influxdb_v2): drop what the server will never accept,
 * retry what it may accept later, split what is too large, keep everything when credentials fail.
 */
export type WriteOutcome =
  | { kind: 'ok' }
  /** 429, 5xx, timeouts, refused connections: try again, no sooner than `retryAfterMs` when given. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 413: the batch is too large; send it in halves. */
  | { kind: 'split'; reason: string }
  /** 400, 422: the data itself is refused; quarantine it, never resend. */
  | { kind: 'drop'; reason: string }
  /** 401, 403: nothing is wrong with the data; keep it and fix the token. */
  | { kind: 'auth'; reason: string };

export function classifyStatus(status: number, body: string | undefined, retryAfter: string | undefined): WriteOutcome {
  const reason = `HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 400 || status === 422) return { kind: 'drop', reason };
  if (status === 413) return { kind: 'split', reason };
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  if (status === 429 || status >= 500) {
    const ms = parseRetryAfter(retryAfter);
    return ms === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: ms };
  }
  // 404 (wrong bucket or org) and other client errors: configuration, not data. Keep and retry slowly.
  return { kind: 'auth', reason };
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
