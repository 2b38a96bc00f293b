import { z } from 'zod';
import { defineKind, graded } from '../types.ts';

export const ThresholdParamsSchema = z
  .strictObject({
    /** `above`: higher is worse (vibration, temperature); `below`: lower is worse (pressure, flow). */
    direction: z.enum(['above', 'below']).default('above'),
    warning: z.number().optional(),
    critical: z.number().optional(),
    /**
     * Take the limits from the vibration zones chosen for the device's asset class (warning at the B/C
     * boundary, critical at C/D). A device whose class has no zones gets no limits: they are never guessed.
     */
    zones: z.boolean().default(false),
  })
  .refine((p) => p.zones || p.warning !== undefined || p.critical !== undefined, { message: 'give warning and/or critical, or zones: true' })
  .refine((p) => p.warning === undefined || p.critical === undefined || (p.direction === 'above' ? p.critical >= p.warning : p.critical <= p.warning), {
    message: 'critical must be beyond warning',
  });
export type ThresholdParams = z.infer<typeof ThresholdParamsSchema>;

/** Fixed limits on the value itself. Stateless: the alert machine supplies debounce and hysteresis. */
export const threshold = defineKind<ThresholdParams, null>({
  kind: 'threshold',
  summary: 'fixed limits on the value (or the asset class’s vibration zones)',
  params: ThresholdParamsSchema,
  scope: 'metric',
  prepare(p, ctx) {
    const dir = p.direction === 'above' ? 1 : -1;
    if (!p.zones) return { dir, warning: p.warning, critical: p.critical };
    if (!ctx.zones) return `no vibration zones chosen for ${ctx.assetClass ? `asset class ${ctx.assetClass}` : 'this device (no asset class)'}`;
    return { dir: 1, warning: ctx.zones.bc, critical: ctx.zones.cd };
  },
  init: () => null,
  step: (p, state, r) => graded(state, r.value, p.limits),
  evidence(p, _s, value) {
    const z = p.params.zones ? p.ctx.zones : undefined;
    return {
      value,
      warning: p.limits.warning,
      critical: p.limits.critical,
      ...(z ? { zones: { standard: z.ref, ab: z.ab, bc: z.bc, cd: z.cd } } : {}),
    };
  },
});
