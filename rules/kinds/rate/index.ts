import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { type Buckets, addToBuckets, emptyBuckets, fitBuckets } from '../buckets.ts';
import { defineKind, graded } from '../types.ts';

export const RateParamsSchema = z
  .strictObject({
    /** The slope is fitted over this much recent time. */
    window: DurationSchema.prefault('30m'),
    /** ... and expressed per this much time (°C per hour). */
    per: DurationSchema.prefault('1h'),
    buckets: z.number().int().min(3).max(60).default(6),
    direction: z.enum(['above', 'below']).default('above'),
    warning: z.number().optional(),
    critical: z.number().optional(),
  })
  .refine((p) => p.warning !== undefined || p.critical !== undefined, { message: 'give warning and/or critical' });
export type RateParams = z.infer<typeof RateParamsSchema>;

export interface RateState {
  b: Buckets;
  /** The last fitted rate, in units per `per`; NaN until the window has filled. */
  rate: number;
}

/** Rate of change: the slope of a line through the last `window` of bucket means. */
export const rate = defineKind<RateParams, RateState>({
  kind: 'rate',
  summary: 'rate of change over a window (e.g. °C per hour)',
  params: RateParamsSchema,
  scope: 'metric',
  prepare: (p) => ({ dir: p.direction === 'above' ? 1 : -1, warning: p.warning, critical: p.critical }),
  init: () => ({ b: emptyBuckets(), rate: NaN }),
  step({ params: p, limits }, s, r, now) {
    const width = p.window / p.buckets;
    if (addToBuckets(s.b, now, width, p.buckets, r.value)) {
      const fit = s.b.ix.length >= p.buckets - 1 ? fitBuckets(s.b, width) : undefined;
      s.rate = fit ? fit.slope * p.per : NaN;
    }
    return graded(s, s.rate, limits);
  },
  evidence: ({ params: p }, s, value) => ({ value, rate: Math.round(s.rate * 1000) / 1000, per: p.per, window: p.window, warning: p.warning, critical: p.critical }),
  compatible: (a, b) => a.window === b.window && a.buckets === b.buckets,
});
