import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { defineKind, graded } from '../types.ts';

/** How a baseline learns: shared by the kinds that measure from one (baseline, cusum). */
export const LEARNING = {
  /** How fast the baseline forgets: the weight of a sample halves after this much time. */
  halfLife: DurationSchema.prefault('3d'),
  /** No verdict until the baseline has seen this much time and `minSamples` samples. */
  learn: DurationSchema.prefault('1d'),
  minSamples: z.number().int().min(2).default(30),
  /** Floor on the deviation, absolute, so a very steady signal does not turn noise into alerts. */
  minDeviation: z.number().nonnegative().default(0),
  /** Floor on the deviation as a fraction of the baseline. */
  relativeFloor: z.number().nonnegative().default(0.02),
  /** Samples further than this many deviations from the baseline are clipped before learning (outliers, spikes). */
  clip: z.number().positive().default(3),
};

export const BaselineParamsSchema = z
  .strictObject({
    /** `deviations`: (value − baseline) / deviation; `ratio`: value / baseline. */
    measure: z.enum(['deviations', 'ratio']).default('deviations'),
    warning: z.number().positive().optional(),
    critical: z.number().positive().optional(),
    ...LEARNING,
  })
  .refine((p) => p.warning !== undefined || p.critical !== undefined, { message: 'give warning and/or critical' })
  .refine((p) => p.warning === undefined || p.critical === undefined || p.critical >= p.warning, { message: 'critical must be at least warning' });
export type BaselineParams = z.infer<typeof BaselineParamsSchema>;

/**
 * A learned baseline: n samples, their mean and a robust deviation (σ estimated from the mean absolute
 * deviation), the first and last sample time, the last value and the last score.
 */
export interface BaselineState {
  n: number;
  mean: number;
  dev: number;
  since: number;
  ts: number;
  last: number;
  score: number;
}

// σ ≈ 1.2533 × mean absolute deviation for a normal distribution; the absolute deviation is far less
// swayed by the occasional outlier than the squared one.
const MAD_TO_SIGMA = 1.2533;

export function scoreOf(p: BaselineParams, s: BaselineState, value: number): number {
  if (p.measure === 'ratio') return s.mean > 0 ? value / s.mean : NaN;
  const dev = Math.max(s.dev, p.minDeviation, p.relativeFloor * Math.abs(s.mean));
  return dev > 0 ? (value - s.mean) / dev : NaN;
}

/** A baseline that has seen nothing yet. */
export function emptyBaseline(): BaselineState {
  return { n: 0, mean: 0, dev: 0, since: NaN, ts: NaN, last: NaN, score: NaN };
}

/**
 * One sample into a baseline, in place: `score` becomes the sample's score against the baseline as it
 * stood (NaN while learning). Shared with the kinds that measure from a baseline (cusum).
 */
export function learnBaseline(p: BaselineParams, s: BaselineState, x: number, now: number, frozen: boolean): BaselineState {
  const learning = s.n < p.minSamples || now - s.since < p.learn;
  const score = learning ? NaN : scoreOf(p, s, x);
  if (frozen || x === s.last) {
    s.last = x;
    s.score = score;
    return s;
  }
  const n = s.n + 1;
  if (s.n === 0) {
    s.n = n;
    s.mean = x;
    s.dev = 0;
    s.since = now;
    s.ts = now;
    s.last = x;
    s.score = score;
    return s;
  }
  const tau = p.halfLife / Math.LN2;
  const dt = Math.min(Math.max(0, now - s.ts), tau);
  const alpha = Math.max(1 / n, 1 - Math.exp(-dt / tau));
  // After learning, a sample beyond `clip` deviations moves the mean only as far as the clip bound,
  // and does not widen the deviation at all: a slowly growing fault produces a long run of such
  // samples, and letting them widen the deviation would teach the baseline that the fault is noise.
  let xc = x;
  let widen = true;
  if (!learning) {
    const bound = p.clip * Math.max(s.dev, p.minDeviation, p.relativeFloor * Math.abs(s.mean));
    xc = Math.min(s.mean + bound, Math.max(s.mean - bound, x));
    widen = xc === x;
  }
  const mean = s.mean + alpha * (xc - s.mean);
  if (widen) s.dev += alpha * (MAD_TO_SIGMA * Math.abs(xc - s.mean) - s.dev);
  s.n = n;
  s.mean = mean;
  s.ts = now;
  s.last = x;
  s.score = score;
  return s;
}

/**
 * Learned per device and metric: an exponentially weighted mean and deviation with a time-based half
 * life (samples at any rate weigh the same per hour). Frozen while its alert is active; identical
 * consecutive values (a stuck sensor) teach it nothing.
 */
export const baseline = defineKind<BaselineParams, BaselineState>({
  kind: 'baseline',
  summary: 'deviation from, or ratio to, a baseline learned per device and metric',
  params: BaselineParamsSchema,
  scope: 'metric',
  prepare: (p) => ({ dir: 1, warning: p.warning, critical: p.critical }),
  init: () => emptyBaseline(),
  step({ params: p, limits }, s, r, now, frozen) {
    const next = learnBaseline(p, s, r.value, now, frozen);
    return graded(next, next.score, limits);
  },
  evidence({ params: p }, s, value) {
    return {
      value,
      baseline: round(s.mean),
      deviation: round(Math.max(s.dev, p.minDeviation, p.relativeFloor * Math.abs(s.mean))),
      measure: p.measure,
      score: round(s.score),
      warning: p.warning,
      critical: p.critical,
      learnedFrom: s.n,
    };
  },
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
