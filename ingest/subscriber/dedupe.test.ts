import { describe, expect, it } from 'vitest';
import { EnvelopeDedupe } from './dedupe.ts';

describe('EnvelopeDedupe', () => {
  it('recognises resends, in order or not, per gateway and boot', () => {
    const d = new EnvelopeDedupe();
    for (const seq of [0, 1, 3, 2, 5]) d.mark('gw', 'b1', seq);
    expect([0, 1, 2, 3, 5].every((s) => d.isDuplicate('gw', 'b1', s))).toBe(true);
    expect(d.isDuplicate('gw', 'b1', 4)).toBe(false);
    expect(d.isDuplicate('gw', 'b2', 0)).toBe(false);
    expect(d.isDuplicate('other', 'b1', 0)).toBe(false);
    expect(d.floor('gw', 'b1')).toBe(3);
  });

  it('stays bounded when a gap never fills', () => {
    const d = new EnvelopeDedupe(8, 100);
    for (let s = 1; s <= 1000; s++) d.mark('gw', 'b', s);
    expect(d.floor('gw', 'b')).toBeGreaterThan(800);
    expect(d.isDuplicate('gw', 'b', 1000)).toBe(true);
  });

  it('keeps a few boots per gateway', () => {
    const d = new EnvelopeDedupe(2);
    d.mark('gw', 'a', 0);
    d.mark('gw', 'b', 0);
    d.mark('gw', 'c', 0);
    expect(d.isDuplicate('gw', 'a', 0)).toBe(false);
    expect(d.isDuplicate('gw', 'c', 0)).toBe(true);
  });
});
