import { z } from 'zod';

/** An alert that is not normal, as the API sends it (ActiveAlert in the engine). */
export const ActiveAlertSchema = z.strictObject({
  ruleId: z.string(),
  deviceId: z.string(),
  site: z.string().optional(),
  metric: z.string(),
  fault: z.string(),
  phase: z.enum(['pending', 'firing', 'recovering']),
  severity: z.enum(['warning', 'critical']),
  since: z.number().int(),
  firedAt: z.number().int().nullable(),
  flapping: z.boolean(),
  evidence: z.record(z.string(), z.unknown()),
});
