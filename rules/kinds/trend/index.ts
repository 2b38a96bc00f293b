import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { type Buckets, addToBuckets, emptyBuckets, fitBuckets } from '../buckets.ts';
import { defineKind, graded } from '../types.ts';

export const TrendParamsSchema = z
  .strictObject({
    /** The regression looks back this far. */
    window: DurationSchema.prefault('2d'),
    /** The window is cut into this many buckets; the line is fitted through their means. */
    buckets: z.number().int().min(4).max(96).default(24),
    /** The limit to be crossed, in the metric's unit. */
    limit: z.number().optional(),
    /** Or the limit as a multiple of the level seen during `learn` (for metrics without absolute limits). */
    limitRatio: z.number().positive().optional(),
    /** Or the C/D boundary of the asset class's vibration zones, where chosen (preferred over the others). */
    zone: z.boolean().default(false),
    learn: DurationSchema.prefault('1d'),
    /** Fire when the predicted crossing is this close. */
    lead: z.strictObject({ warning: DurationSchema.prefault('7d'), critical: DurationSchema.prefault('1d') }).prefault({}),
    /** Minimum R² of the fit; a line that explains little of the movement predicts nothing. */
    minFit: z.number().min(0).max(1).default(0.6),
    // Three quarters of the window by default: a day of data in a two-day window is one daily cycle, not a trend.
    minBuckets: z.number().int().min(3).default(18),
    /** A sample further than this factor from the last bucket mean is clipped: spikes must not bend the line. */
    clipRatio: z.number().min(1).default(1.5),
  })
  .refine((p) => p.zone || p.limit !== undefined || p.limitRatio !== undefined, { message: 'give limit, limitRatio or zone: true' })
  .refine((p) => p.lead.critical <= p.lead.warning, { message: 'lead.critical must not exceed lead.warning', path: ['lead'] });
export type TrendParams = z.infer<typeof TrendParamsSchema>;

export interface TrendState {
  b: Buckets;
  since: number;
  /** Sum and count of bucket means during learning: the reference for `limitRatio`. */
  ref: number;
  refN: number;
  /** Predicted crossing (epoch ms), or NaN when none is predicted. */
  cross: number;
  slope: number;
  r2: number;
  lim: number;
}

/**
 * Fits a line through recent bucket means and predicts when the metric will cross its limit. The score
 * is the time left until then, so lower is worse: `lead.warning` and `lead.critical` are its limits.
 */
export const trend = defineKind<TrendParams, TrendState>({
  kind: 'trend',
  summary: 'regression over a window: predicted time until a limit is crossed',
  params: TrendParamsSchema,
  scope: 'metric',
  resolve: (p, ctx) => (p.zone && ctx.zones ? { ...p, limit: ctx.zones.cd } : p),
  prepare(p, ctx) {
    if (p.zone && !ctx.zones && p.limit === undefined && p.limitRatio === undefined) {
      return `no vibration zones chosen for ${ctx.assetClass ? `asset class ${ctx.assetClass}` : 'this device (no asset class)'} and no limit`;
    }
    return { dir: -1, warning: p.lead.warning, critical: p.lead.critical };
  },
  init: () => ({ b: emptyBuckets(), since: NaN, ref: 0, refN: 0, cross: NaN, slope: NaN, r2: NaN, lim: NaN }),
  step({ params: p, limits }, s, r, now, frozen) {
    const width = p.window / p.buckets;
    const since = Number.isNaN(s.since) ? now : s.since;
    const m = s.b.mv.length > 0 ? s.b.mv[s.b.mv.length - 1]! : NaN;
    const x = m > 0 ? Math.min(m * p.clipRatio, Math.max(m / p.clipRatio, r.value)) : r.value;
    s.since = since;
    if (addToBuckets(s.b, now, width, p.buckets, x)) {
      const b = s.b;
      const learning = now - since <= p.learn;
      const ref = learning ? s.ref + b.mv[b.mv.length - 1]! : s.ref;
      const refN = learning ? s.refN + 1 : s.refN;
      const lim = p.limit ?? (p.limitRatio !== undefined && refN > 0 ? (ref / refN) * p.limitRatio : NaN);
      let cross = NaN;
      let slope = NaN;
      let r2 = NaN;
      const fit = !learning && b.ix.length >= p.minBuckets ? fitBuckets(b, width) : undefined;
      if (fit && Number.isFinite(lim)) {
        slope = fit.slope;
        r2 = fit.r2;
        if (fit.value >= lim) cross = fit.at;
        // While the alert is active the fit may loosen to half of minFit before the prediction is
        // dropped: a daily load cycle must not switch a developing trend on and off (hysteresis).
        else if (fit.slope > 0 && fit.r2 >= (frozen ? p.minFit / 2 : p.minFit)) cross = fit.at + (lim - fit.value) / fit.slope;
      }
      s.ref = ref;
      s.refN = refN;
      s.cross = cross;
      s.slope = slope;
      s.r2 = r2;
      s.lim = lim;
    }
    const learned = now - since > p.learn;
    const score = Number.isNaN(s.cross) ? (learned ? Infinity : NaN) : Math.max(0, s.cross - now);
    return graded(s, score, limits);
  },
  evidence({ params: p }, s, value) {
    return {
      value,
      limit: round(s.lim),
      slopePerDay: round(s.slope * 86_400_000),
      fit: round(s.r2),
      predictedCrossing: Number.isNaN(s.cross) ? null : Math.round(s.cross),
      window: p.window,
      lead: p.lead,
    };
  },
  compatible: (a, b) => a.window === b.window && a.buckets === b.buckets,
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
