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
 * Adds a value at `now`, in place. Returns whether the open bucket was closed by it (`now` moved past
 * it). Buckets older than `keep` widths are dropped.
 */
export function addToBuckets(b: Buckets, now: number, width: number, keep: number, value: number): boolean {
  const idx = Math.floor(now / width);
  if (idx === b.cur) {
    b.sum += value;
    b.cnt++;
    return false;
  }
  if (b.cnt === 0 || idx < b.cur) {
    b.cur = idx;
    b.sum = value;
    b.cnt = 1;
    return false;
  }
  b.ix.push(b.cur);
  b.mv.push(b.sum / b.cnt);
  let drop = 0;
  while (drop < b.ix.length && b.ix[drop]! <= idx - keep) drop++;
  if (drop) {
    b.ix.splice(0, drop);
    b.mv.splice(0, drop);
  }
  b.cur = idx;
  b.sum = value;
  b.cnt = 1;
  return true;
}

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
