import { describe, expect, it } from 'vitest';
import { decide } from './policy.ts';

const p = { initialMs: 100, maxMs: 10_000, canSplit: false, random: () => 1 };

describe('decide: one reading of an outcome for every output', () => {
  it('backs off exponentially, never sooner than Retry-After (capped at the longest backoff), until maxAttempts', () => {
    expect(decide({ kind: 'retry', reason: 'HTTP 503' }, 1, p)).toMatchObject({ action: 'wait', ms: 100, countAttempt: true, counted: 'retry' });
    expect(decide({ kind: 'retry', reason: 'HTTP 503' }, 4, p)).toMatchObject({ action: 'wait', ms: 800 });
    expect(decide({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 5_000 }, 1, p)).toMatchObject({ ms: 5_000 });
    expect(decide({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 3_600_000 }, 1, p)).toMatchObject({ ms: 10_000 });
    expect(decide({ kind: 'retry', reason: 'HTTP 503' }, 5, { ...p, maxAttempts: 5 })).toEqual({ action: 'dead', counted: 'dead' });
    // Without a limit (a spool), a retry is never given up.
    expect(decide({ kind: 'retry', reason: 'HTTP 503' }, 500, p)).toMatchObject({ action: 'wait', ms: 10_000 });
  });

  it('keeps an item refused for credentials without using its attempts, splits what can be split, drops refusals', () => {
    expect(decide({ kind: 'auth', reason: 'HTTP 401' }, 99, { ...p, maxAttempts: 3 })).toEqual({ action: 'wait', ms: 30_000, countAttempt: false, counted: 'auth' });
    expect(decide({ kind: 'split', reason: 'HTTP 413' }, 1, { ...p, canSplit: true })).toEqual({ action: 'split', counted: 'split' });
    expect(decide({ kind: 'split', reason: 'HTTP 413' }, 1, p)).toEqual({ action: 'dead', counted: 'drop' });
    expect(decide({ kind: 'drop', reason: 'HTTP 400' }, 1, p)).toEqual({ action: 'dead', counted: 'drop' });
    expect(decide({ kind: 'ok' }, 3, p)).toEqual({ action: 'done', counted: 'ok' });
  });
});
