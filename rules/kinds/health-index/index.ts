import { CholeskyDecomposition, Matrix, inverse } from 'ml-matrix';
import { chiSquaredDistributionTable, mean, sampleCovariance } from 'simple-statistics';
import { z } from 'zod';
import { DurationSchema, MetricIdSchema, type MetricId } from '../../../core/index.ts';
import { defineKind, graded } from '../types.ts';

export const HealthIndexParamsSchema = z
  .strictObject({
    /** The features of one sensor that are judged together (RMS, peak, crest, kurtosis). */
    metrics: z.array(MetricIdSchema).min(2).max(6).refine((m) => new Set(m).size === m.length, { message: 'a metric is listed twice' }),
    /** The Mahalanobis distance (in deviations of the joint normal) that raises each level. */
    warning: z.number().positive().default(4.5),
    critical: z.number().positive().optional(),
    /** The joint normal is first estimated over this long (and at least `minSamples` snapshots). */
    learn: DurationSchema.prefault('1d'),
    minSamples: z.number().int().min(10).default(30),
    /** Afterwards it follows slow change: a snapshot's weight halves after this long. */
    halfLife: DurationSchema.prefault('7d'),
    /** A snapshot further than this distance teaches the normal nothing (default: the warning distance). */
    clip: z.number().positive().optional(),
    /** Floor on each feature's deviation, as a fraction of its mean (sensor resolution, steady rigs). */
    relativeFloor: z.number().nonnegative().default(0.02),
    /** Values of the features whose sample times lie this close together form one snapshot. */
    snapshot: DurationSchema.prefault('1m'),
  })
  .refine((p) => p.critical === undefined || p.critical >= p.warning, { message: 'critical must be at least warning' });
export type HealthIndexParams = z.infer<typeof HealthIndexParamsSchema>;

/** The joint normal: `buf` holds the snapshots of the learning period (null once learned); cov row-major. */
export interface HealthModel {
  n: number;
  since: number;
  ts: number;
  buf: number[][] | null;
  mu: number[];
  cov: number[];
}

/**
 * The model, the snapshot being assembled (`x`, NaN where a feature is still missing; `xt` its time),
 * and the distance of the last complete snapshot.
 */
export interface HealthIndexState {
  m: HealthModel;
  x: number[];
  xt: number;
  score: number;
}

// Kept on the model under a symbol, not enumerable: JSON and a spread into the next model leave it out,
// and a property read is cheaper than a WeakMap lookup for every snapshot of every device.
const INVERSE = Symbol('inverse');

/**
 * The inverse covariance of a model, worked out once per model: a learned model's mean and covariance
 * are never changed, only replaced (hourly at most), so judging a snapshot is one quadratic form. Not in
 * the state: a restored engine works it out again on its first snapshot.
 */
function inverseOf(p: HealthIndexParams, m: HealthModel): number[] {
  const held = m as HealthModel & { [INVERSE]?: number[] };
  let inv = held[INVERSE];
  if (!inv) Object.defineProperty(m, INVERSE, { value: (inv = invert(p, m.mu, m.cov)), enumerable: false });
  return inv;
}

/** Learning keeps at most this many snapshots; beyond it, new ones replace old ones in turn. */
const MAX_LEARN_SAMPLES = 1000;
/**
 * The normal follows slow change from one snapshot per 1/168 of its half life (an hour for 7 d): the
 * other snapshots of that hour add nothing a week-long memory would notice, and judging against a
 * model that stands still between updates needs no matrix work per snapshot.
 */
const ADAPT_STEPS_PER_HALF_LIFE = 168;

/**
 * A health index: the Mahalanobis distance of one sensor's feature vector from the joint normal learned
 * for it. Correlated features (RMS and peak rise together) count once, and several features that each
 * move a little add up, so early damage need not push any single feature past its own limit. The normal
 * is estimated robustly (the snapshots beyond the 97.5 % χ² quantile are dropped and it is estimated
 * again) and then follows slow change with a half life, never while its alert is active.
 */
export const healthIndex = defineKind<HealthIndexParams, HealthIndexState>({
  kind: 'health-index',
  summary: 'Mahalanobis distance of several features of one sensor from their learned joint normal',
  params: HealthIndexParamsSchema,
  scope: 'device',
  metrics: (p) => p.metrics,
  prepare: (p) => ({ dir: 1, warning: p.warning, critical: p.critical }),
  init: ({ params: p }) => ({ m: { n: 0, since: NaN, ts: NaN, buf: [], mu: [], cov: [] }, x: p.metrics.map(() => NaN), xt: NaN, score: NaN }),
  step({ params: p, limits }, s, r, now, frozen) {
    const i = p.metrics.indexOf(r.metric as MetricId);
    if (i < 0) return graded(s, s.score, limits);
    // The snapshot being assembled is the state's own (in place); the model is replaced, never changed.
    if (Number.isNaN(s.xt) || Math.abs(r.ts - s.xt) > p.snapshot) {
      s.x.fill(NaN);
      s.xt = r.ts;
    }
    s.x[i] = r.value;
    if (s.x.some(Number.isNaN)) return graded(s, s.score, limits);
    // A complete snapshot: judge it, then learn from it.
    const x = s.x.slice();
    s.x.fill(NaN);
    s.xt = NaN;
    if (s.m.buf !== null) {
      s.m = learnFrom(p, s.m, x, now);
      s.score = NaN;
      return graded(s, NaN, limits);
    }
    const score = distance(s.m.mu, inverseOf(p, s.m), x);
    if (!(frozen || !(score <= (p.clip ?? p.warning)) || now - s.m.ts < p.halfLife / ADAPT_STEPS_PER_HALF_LIFE)) s.m = adapt(s.m, p, x, now);
    s.score = score;
    return graded(s, score, limits);
  },
  evidence({ params: p }, { m, x, score }) {
    const sd = (j: number) => Math.sqrt(m.cov[j * p.metrics.length + j]! + (p.relativeFloor * m.mu[j]!) ** 2);
    const last = x.some(Number.isNaN) ? undefined : x;
    return {
      distance: round(score),
      warning: p.warning,
      critical: p.critical,
      learnedFrom: m.n,
      ...(m.buf === null ? { normal: Object.fromEntries(p.metrics.map((metric, j) => [metric, { mean: round(m.mu[j]!), deviation: round(sd(j)) }])) } : {}),
      ...(last ? { value: Object.fromEntries(p.metrics.map((metric, j) => [metric, last[j]])) } : {}),
    };
  },
  compatible: (a, b) => a.metrics.join() === b.metrics.join() && a.halfLife === b.halfLife,
});

function learnFrom(p: HealthIndexParams, m: HealthModel, x: number[], now: number): HealthModel {
  // The learning buffer is the model's own and only grows or takes turns: add in place, not by copy.
  const buf = m.buf!;
  if (buf.length < MAX_LEARN_SAMPLES) buf.push(x);
  else buf[m.n % MAX_LEARN_SAMPLES] = x;
  const since = Number.isNaN(m.since) ? now : m.since;
  const n = m.n + 1;
  if (n < p.minSamples || now - since < p.learn) return { ...m, n, since, ts: now, buf };
  const fit = robustFit(p, buf);
  if (!fit) return { ...m, n, since, ts: now, buf };
  return { ...m, n, since, ts: now, buf: null, mu: fit.mu, cov: fit.cov };
}

/** Mean and covariance, then again without the snapshots the first fit calls outliers. */
function robustFit(p: HealthIndexParams, rows: number[][]): { mu: number[]; cov: number[] } | undefined {
  const fit = (data: number[][]) => {
    const cols = p.metrics.map((_, j) => data.map((r) => r[j]!));
    const cov: number[] = [];
    for (let a = 0; a < cols.length; a++) for (let b = 0; b < cols.length; b++) cov.push(sampleCovariance(cols[a]!, cols[b]!));
    return { mu: cols.map((c) => mean(c)), cov };
  };
  const first = fit(rows);
  const inv = invert(p, first.mu, first.cov);
  const cut = Math.sqrt(chiSquaredDistributionTable[p.metrics.length as keyof typeof chiSquaredDistributionTable]?.['0.025'] ?? Infinity);
  const kept = rows.filter((r) => distance(first.mu, inv, r) <= cut);
  return kept.length >= Math.max(p.metrics.length + 2, rows.length / 2) ? fit(kept) : first;
}

/** Exponentially weighted update of the joint normal with a time-based half life. */
function adapt(m: HealthModel, p: HealthIndexParams, x: number[], now: number): HealthModel {
  const tau = p.halfLife / Math.LN2;
  const a = 1 - Math.exp(-Math.min(Math.max(0, now - m.ts), tau) / tau);
  if (!(a > 0)) return { ...m, ts: now };
  const k = x.length;
  const d = x.map((v, j) => v - m.mu[j]!);
  const mu = m.mu.map((v, j) => v + a * d[j]!);
  const cov = m.cov.map((c, idx) => (1 - a) * (c + a * d[Math.floor(idx / k)]! * d[idx % k]!));
  return { ...m, n: m.n + 1, ts: now, mu, cov };
}

/** Σ⁻¹ of the covariance with each feature's variance floored; [] when it is not positive definite. */
function invert(p: HealthIndexParams, mu: number[], cov: number[]): number[] {
  const k = mu.length;
  const sigma = new Matrix(k, k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) sigma.set(a, b, (cov[a * k + b]! + cov[b * k + a]!) / 2 + (a === b ? (p.relativeFloor * mu[a]!) ** 2 : 0));
  if (!sigma.isSymmetric() || !new CholeskyDecomposition(sigma).isPositiveDefinite()) return [];
  return inverse(sigma).to1DArray();
}

/** sqrt(dᵀ Σ⁻¹ d); NaN without an inverse. */
function distance(mu: number[], inv: number[], x: number[]): number {
  const k = x.length;
  if (inv.length !== k * k) return NaN;
  let q = 0;
  for (let a = 0; a < k; a++) {
    const da = x[a]! - mu[a]!;
    for (let b = 0; b < k; b++) q += da * inv[a * k + b]! * (x[b]! - mu[b]!);
  }
  return Math.sqrt(Math.max(0, q));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
