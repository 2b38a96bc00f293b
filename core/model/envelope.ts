import { z } from 'zod';
import { GatewayIdSchema, SiteIdSchema } from './ids.ts';

export const ENVELOPE_VERSION = 1;
/** Upper bound on readings per Envelope; larger batches are split by the gateway. */
export const MAX_READINGS_PER_ENVELOPE = 5000;

/**
 * One MQTT message from a gateway. `bootId` is new at each gateway start and `seq` strictly increases
 * within it, so a replayed Envelope is recognised and a gap is visible. Readings are typed `unknown`
 * here on purpose: each is checked with the cheap guard, so one bad reading never costs the batch.
 */
export const EnvelopeSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  site: SiteIdSchema,
  gatewayId: GatewayIdSchema,
  bootId: z.string().min(1).max(64),
  seq: z.number().int().nonnegative(),
  sentAt: z.number().int().nonnegative(),
  readings: z.array(z.unknown()).max(MAX_READINGS_PER_ENVELOPE),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;
