import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { type BaselineParams, type BaselineState, LEARNING, baseline, emptyBaseline, learnBaseline, scoreOf } from '../baseline/index.ts';
import { defineKind, graded, limits as makeLimits } from '../types.ts';

export const CusumParamsSchema = z
  .strictObject({
    /**
     * The allowance, in deviations: each sample adds (z − k) to the sum, so only the part of a shift beyond
     * k counts. k = δ/2 is Page's choice for detecting a shift of δ deviations fastest; 1 aims at shifts
     * of about 2 deviations and lets ordinary noise (|z| < 1 most of the time) drain the sum.
     */
    k: z.number().positive().default(1),
    /** The decision interval h: the sum, in deviations, that raises each level. */
    warning: z.number().positive().default(8),
    critical: z.number().positive().optional(),
    /** The baseline it measures from learns as the baseline kind does, with a week's half life. */
    ...LEARNING,
    halfLife: DurationSchema.prefault('7d'),
  })
  .refine((p) => p.critical === undefined || p.critical >= p.warning, { message: 'critical must be at least warning' });
export type CusumParams = z.infer<typeof CusumParamsSchema>;

/** The baseline it measures from, and the upper cumulative sum `c` (in deviations). */
export interface CusumState {
  b: BaselineState;
  c: number;
}

/** The baseline kind's params for the baseline this chart measures from, made once per rule. */
const baselines = new WeakMap<CusumParams, BaselineParams>();
// Every device of a rule shares its params: the last pair answers almost every call without a lookup.
let lastParams: CusumParams | undefined;
let lastBaseline: BaselineParams | undefined;
function baselineOf(p: CusumParams): BaselineParams {
  if (p === lastParams) return lastBaseline!;
  let b = baselines.get(p);
  if (!b) {
    b = { measure: 'deviations', warning: p.warning, critical: p.critical, halfLife: p.halfLife, learn: p.learn, minSamples: p.minSamples, minDeviation: p.minDeviation, relativeFloor: p.relativeFloor, clip: p.clip };
    baselines.set(p, b);
  }
  lastParams = p;
  lastBaseline = b;
  return b;
}

/**
 * Page's upper CUSUM on the deviation from a learned baseline: `c = max(0, c + z − k)`. A shift of one or
 * two deviations, too small for any single-sample limit, adds up sample after sample until it crosses h;
 * noise drains it. The sum is itself the persistence: one outlier adds at most `clip − k`.
 */
export const cusum = defineKind<CusumParams, CusumState>({
  kind: 'cusum',
  summary: 'cumulative sum of small upward shifts from a learned baseline (control chart)',
  params: CusumParamsSchema,
  scope: 'metric',
  prepare: (p) => ({ dir: 1, warning: p.warning, critical: p.critical }),
  init: () => ({ b: emptyBaseline(), c: 0 }),
  step({ params: p, limits }, s, r, now, frozen) {
    const bp = baselineOf(p);
    const learning = s.b.n < p.minSamples || now - s.b.since < p.learn;
    // Each sample is clipped like the baseline clips it, so one wild value cannot cross h on its own.
    const z = learning ? NaN : Math.min(p.clip, scoreOf(bp, s.b, r.value));
    const c = Number.isNaN(z) ? 0 : Math.max(0, s.c + z - p.k);
    // The baseline does not learn while the sum says the level has moved: that is the shift being measured.
    learnBaseline(bp, s.b, r.value, now, frozen || c >= p.warning);
    s.c = c;
    return graded(s, learning ? NaN : c, limits);
  },
  evidence({ params: p }, s, value) {
    const e = baseline.evidence({ params: baselineOf(p), limits: makeLimits(1, NaN, NaN, 0), ctx: { hysteresis: 0, site: undefined, assetClass: undefined, zones: undefined } }, s.b, value);
    return { value, baseline: e.baseline, deviation: e.deviation, z: e.score, sum: round(s.c), k: p.k, warning: p.warning, critical: p.critical, learnedFrom: s.b.n };
  },
  compatible: (a, b) => a.halfLife === b.halfLife && a.k === b.k,
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
