/**
 * The one outcome set every output answers an attempt with, so the TSDB sink, webhooks and any later
 * output retry, split, drop and wait the same way. The HTTP classes follow Telegraf's InfluxDB v2
 * output (plugins/outputs/influxdb_v2): drop what the target will never accept, retry what it may
 * accept later, split what is too large, keep everything while credentials or configuration are wrong.
 * `dead` is not an answer but what a queue makes of `retry` once an item has used its attempts.
 */
export type DeliveryOutcome =
  | { kind: 'ok' }
  /** 408, 429, 5xx, timeouts, refused connections: try again, no sooner than `retryAfterMs` when given. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 413: too large; send it in halves (an item that cannot be halved is dropped). */
  | { kind: 'split'; reason: string }
  /** 400, 422 and other refusals of the content: never resend; to the output's dead-letter list. */
  | { kind: 'drop'; reason: string }
  /** 401, 403, 404: nothing is wrong with the item; keep it, retry slowly, and say once what to fix. */
  | { kind: 'auth'; reason: string };

export type DeliveryOutcomeKind = DeliveryOutcome['kind'] | 'dead';

/** How long an output waits between attempts while its credentials or configuration are wrong. */
export const AUTH_RETRY_MS = 30_000;

export function classifyHttp(status: number, body: string | undefined, retryAfter: string | null | undefined, now = Date.now()): DeliveryOutcome {
  const reason = `HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 413) return { kind: 'split', reason };
  if (status === 401 || status === 403 || status === 404) return { kind: 'auth', reason };
  if (status === 408 || status === 429 || status >= 500) {
    const ms = parseRetryAfter(retryAfter ?? undefined, now);
    return ms === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: ms };
  }
  return { kind: 'drop', reason };
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
