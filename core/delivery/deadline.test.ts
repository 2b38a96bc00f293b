import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.ts';

describe('deadline', () => {
  it('aborts with a TimeoutError after its time, even with nothing else holding it', async () => {
    const d = deadline(new AbortController().signal, 30);
    // Garbage collection of a composed timeout signal was how a request could wait for ever.
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 80));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).name).toBe('TimeoutError');
  });

  it('aborts when the outer signal does, and stops listening once cleared', () => {
    const outer = new AbortController();
    const d = deadline(outer.signal, 10_000);
    outer.abort(new Error('stopping'));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('stopping');
    d.clear();
    const other = new AbortController();
    const e = deadline(other.signal, 10_000);
    e.clear();
    other.abort();
    expect(e.signal.aborted).toBe(false);
  });
});
