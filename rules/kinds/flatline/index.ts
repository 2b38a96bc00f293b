import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { defineKind, graded } from '../types.ts';

export const FlatlineParamsSchema = z.strictObject({
  /** Warn once the value has not moved for this long ... */
  after: DurationSchema.prefault('30m'),
  /** ... and go critical after this long (optional). */
  critical: DurationSchema.optional(),
  /** ... over at least this many samples (a slow sampler is not a stuck one). */
  minSamples: z.number().int().min(2).default(5),
  /** Changes up to this size count as "not moved" (sensors that dither in the last digit). */
  tolerance: z.number().nonnegative().default(0),
});
export type FlatlineParams = z.infer<typeof FlatlineParamsSchema>;

export interface FlatlineState {
  /** The value the current run started with, when, and how many samples it has lasted. */
  v: number;
  since: number;
  n: number;
}

/**
 * A stuck sensor: a real machine's vibration or temperature is never exactly constant, so a run of
 * identical values is a sensor (or gateway) fault, whatever the value is.
 */
export const flatline = defineKind<FlatlineParams, FlatlineState>({
  kind: 'flatline',
  summary: 'stuck sensor: the value has not changed for a while',
  params: FlatlineParamsSchema,
  scope: 'metric',
  prepare: (p) => ({ dir: 1, warning: p.after, critical: p.critical }),
  init: () => ({ v: NaN, since: NaN, n: 0 }),
  step({ params: p, limits }, s, r, now) {
    if (Math.abs(r.value - s.v) <= p.tolerance) s.n++;
    else {
      s.v = r.value;
      s.since = now;
      s.n = 1;
    }
    return graded(s, s.n >= p.minSamples ? now - s.since : 0, limits);
  },
  evidence: ({ params: p }, s) => ({ value: s.v, stuckSince: s.since, samples: s.n, after: p.after }),
});
