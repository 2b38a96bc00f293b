import { backoffDelay } from '../runtime/index.ts';
import { AUTH_RETRY_MS, type DeliveryOutcome, type DeliveryOutcomeKind } from './outcome.ts';

/** What an output does after an attempt, decided the same way for every output. */
export type Decision =
  | { action: 'done' }
  /** Keep the item and try again in `ms`; `countAttempt` false while the target's configuration is wrong. */
  | { action: 'wait'; ms: number; countAttempt: boolean }
  /** Send it in halves. */
  | { action: 'split' }
  /** Give it up: to the dead letters (or the quarantine). */
  | { action: 'dead' };

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /** Attempts before a retried item is given up; unlimited for a spool that must wait any outage out. */
  maxAttempts?: number;
  /** Whether the output can halve an item (a batch of readings can, one event cannot). */
  canSplit: boolean;
  random?: () => number;
}

/**
 * The one reading of an outcome: `ok` done; `retry` waits with exponential backoff and jitter, no
 * sooner than the target's Retry-After (capped at the longest backoff), until `maxAttempts`; `auth`
 * waits 30 s without using up attempts; `split` halves what can be halved; `drop` gives it up.
 * `attempt` is this attempt's number, from 1. Also says under which outcome kind to count it.
 */
export function decide(outcome: DeliveryOutcome, attempt: number, p: RetryPolicy): Decision & { counted: DeliveryOutcomeKind } {
  switch (outcome.kind) {
    case 'ok':
      return { action: 'done', counted: 'ok' };
    case 'auth':
      return { action: 'wait', ms: AUTH_RETRY_MS, countAttempt: false, counted: 'auth' };
    case 'split':
      return p.canSplit ? { action: 'split', counted: 'split' } : { action: 'dead', counted: 'drop' };
    case 'drop':
      return { action: 'dead', counted: 'drop' };
    case 'retry': {
      if (p.maxAttempts !== undefined && attempt >= p.maxAttempts) return { action: 'dead', counted: 'dead' };
      const backoff = backoffDelay(attempt - 1, { initialMs: p.initialMs, maxMs: p.maxMs, ...(p.random ? { random: p.random } : {}) });
      return { action: 'wait', ms: Math.max(Math.min(outcome.retryAfterMs ?? 0, p.maxMs), backoff), countAttempt: true, counted: 'retry' };
    }
  }
}
