import { describe, expect, it } from 'vitest';
import { classifyHttp, parseRetryAfter } from './outcome.ts';

describe('the one outcome set of every output', () => {
  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [400, 'drop'],
    [409, 'drop'],
    [422, 'drop'],
    [413, 'split'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'auth'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
  ])('HTTP %i → %s', (status, kind) => {
    expect(classifyHttp(status, 'x', undefined).kind).toBe(kind);
  });

  it('honours Retry-After in seconds or as an HTTP date, and ignores what it cannot read', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(classifyHttp(429, '', '7', now)).toMatchObject({ kind: 'retry', retryAfterMs: 7000 });
    expect(classifyHttp(503, '', 'Wed, 01 Jan 2025 00:00:10 GMT', now)).toMatchObject({ kind: 'retry', retryAfterMs: 10_000 });
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0); // a date in the past: now
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('  ')).toBeUndefined();
    expect(classifyHttp(503, '', 'soon', now)).toEqual({ kind: 'retry', reason: 'HTTP 503' });
  });

  it('keeps the start of the body in the reason, bounded', () => {
    expect(classifyHttp(400, 'x'.repeat(1000), undefined)).toMatchObject({ kind: 'drop', reason: `HTTP 400: ${'x'.repeat(300)}` });
  });
});
