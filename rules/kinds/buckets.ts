/**
 * Fixed-width time buckets of mean values, the shared memory of the kinds that fit a line (trend, rate).
 * Bucket means keep the state small and bounded whatever the sample rate: 24 buckets cost the same for
 * one sample a minute or fifty a second.
 */
export interface Buckets {
  /** Bucket indexes (ts / width, floored) of the closed buckets, oldest first. */
  ix: number[];
  /** Their mean values. */
  mv: number[];
  /** The open bucket: index, sum and count. */
  cur: number;
  sum: number;
  cnt: number;
}

export const emptyBuckets = (): Buckets => ({ ix: [], mv: [], cur: NaN, sum: 0, cnt: 0 });

/**
 * Adds a value at `now`. Returns the same object while the open bucket fills (nothing else changes
 * shape), and a new one with the open bucket closed when `now` moves past it. Buckets older than
 * `keep` widths are dropped.
 */
export function addToBuckets(b: Buckets, now: number, width: number, keep: number, value: number): Buckets {
  const idx = Math.floor(now / width);
  if (idx === b.cur) return { ix: b.ix, mv: b.mv, cur: idx, sum: b.sum + value, cnt: b.cnt + 1 };
  if (b.cnt === 0 || idx < b.cur) return { ix: b.ix, mv: b.mv, cur: idx, sum: value, cnt: 1 };
  const ix = [...b.ix, b.cur];
  const mv = [...b.mv, b.sum / b.cnt];
  let drop = 0;
  while (drop < ix.length && ix[drop]! <= idx - keep) drop++;
  return { ix: drop ? ix.slice(drop) : ix, mv: drop ? mv.slice(drop) : mv, cur: idx, sum: value, cnt: 1 };
}

export const closed = (before: Buckets, after: Buckets): boolean => before.ix !== after.ix;

export interface Fit {
  /** Slope per ms. */
  slope: number;
  /** Fitted value at time `at`. */
  at: number;
  value: number;
  /** Coefficient of determination, 0..1. */
  r2: number;
  n: number;
}

/** Least-squares line through the closed buckets (at their centres). */
export function fitBuckets(b: Buckets, width: number): Fit | undefined {
  const n = b.ix.length;
  if (n < 2) return undefined;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += b.ix[i]!;
    sy += b.mv[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = b.ix[i]! - mx;
    const dy = b.mv[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slopePerBucket = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  const last = b.ix[n - 1]!;
  return { slope: slopePerBucket / width, at: (last + 0.5) * width, value: my + slopePerBucket * (last - mx), r2, n };
}
