import { z } from 'zod';
import { DurationSchema, MetricIdSchema } from '../../../core/index.ts';
import { defineKind, graded } from '../types.ts';

export const SilenceParamsSchema = z.strictObject({
  /** Warn when nothing has been heard for this long ... */
  after: DurationSchema.prefault('30m'),
  /** ... and go critical after this long (optional). */
  critical: DurationSchema.optional(),
  /** Listen for this metric only; by default any reading of the device counts. */
  metric: MetricIdSchema.optional(),
});
export type SilenceParams = z.infer<typeof SilenceParamsSchema>;

export interface SilenceState {
  /** Sample time of the last reading heard. */
  ts: number;
}

/**
 * A device that stopped reporting. Absence produces no readings to react to, so this kind is driven by
 * the clock: the engine ticks it with the site's current time.
 */
export const silence = defineKind<SilenceParams, SilenceState>({
  kind: 'silence',
  summary: 'device stopped reporting (driven by the clock)',
  params: SilenceParamsSchema,
  scope: 'device',
  prepare: (p) => ({ dir: 1, warning: p.after, critical: p.critical }),
  init: () => ({ ts: NaN }),
  metrics: (p) => (p.metric ? [p.metric] : undefined),
  step({ limits }, s, r, now) {
    if (Number.isNaN(s.ts) || r.ts > s.ts) s.ts = r.ts;
    return graded(s, now - s.ts, limits);
  },
  tick: ({ limits }, s, now) => graded(s, Number.isNaN(s.ts) ? NaN : now - s.ts, limits),
  evidence: ({ params: p }, s) => ({ lastHeard: Number.isNaN(s.ts) ? null : s.ts, after: p.after, ...(p.metric ? { metric: p.metric } : {}) }),
});
