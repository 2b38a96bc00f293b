import { describe, expect, it } from 'vitest';
import { pageReachError, sseParser } from './peers.ts';

describe('sseParser', () => {
  it('yields whole events however the text is cut, and skips comments and retry lines', () => {
    const got: [string, string][] = [];
    const p = sseParser((e, d) => got.push([e, d]));
    const text = 'retry: 3000\n\n: keep-alive\n\nevent: readings\ndata: [1,2]\n\ndata: a\ndata: b\n\nevent: x\ndata:no-space\n\n';
    for (const piece of text.match(/[\s\S]{1,3}/g)!) p.push(piece);
    expect(got).toEqual([
      ['readings', '[1,2]'],
      ['message', 'a\nb'],
      ['x', 'no-space'],
    ]);
  });

  it('keeps an unfinished event until its end arrives', () => {
    const got: string[] = [];
    const p = sseParser((_, d) => got.push(d));
    p.push('event: readings\ndata: {"a":');
    expect(got).toEqual([]);
    p.push('1}\n\n');
    expect(got).toEqual(['{"a":1}']);
  });
});

describe('pageReachError', () => {
  it('refuses a merged page past the reach, with a way out', () => {
    expect(pageReachError(0, 5000)).toBeUndefined();
    expect(pageReachError(4999, 2)).toMatch(/at most 5000 .* narrow the list with \?site=/);
  });
});
