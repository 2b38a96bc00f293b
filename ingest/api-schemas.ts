import { z } from 'zod';
import { GatewayStatusSchema } from '../core/index.ts';

// The shapes of ingest's directories as the API sends them (DeviceState, GatewayView in devices.ts).
const int = z.number().int();
const LastValue = z.strictObject({ value: z.number(), ts: int, quality: z.enum(['bad', 'uncertain']).optional() });

export const DeviceStateResponse = z.strictObject({
  site: z.string(),
  deviceId: z.string(),
  gatewayId: z.string(),
  lastSeen: int,
  lastTs: int,
  values: z.record(z.string(), LastValue),
  state: z.string().optional(),
  stateSince: int.optional(),
  lastError: z.string().optional(),
  untrusted: z.strictObject({ bad: int.optional(), uncertain: int.optional() }).optional(),
});

export const GatewayResponse = z.strictObject({
  site: z.string(),
  gatewayId: z.string(),
  state: z.enum(['online', 'offline', 'unknown']),
  stateSince: int.optional(),
  lastEnvelopeAt: int.optional(),
  bootId: z.string().optional(),
  lastSeq: int.optional(),
  envelopes: int,
  duplicates: int,
  outbox: z.strictObject({ readings: int, oldestTs: int.nullable(), at: int }).optional(),
  refusals: GatewayStatusSchema.shape.refusals,
});

export const PipelineResponse = z.strictObject({
  broker: z.union([
    z.strictObject({ mode: z.literal('embedded'), port: int.optional(), tlsPort: int.optional(), clients: int.optional() }),
    z.strictObject({ mode: z.literal('external'), url: z.string().describe('the broker, or its nodes comma-separated'), connected: z.boolean().optional() }),
  ]),
  /** The TSDB writer: configured or not, and its spool and health when it is. */
  tsdb: z.looseObject({ configured: z.boolean() }),
  webhooks: z.strictObject({ pending: int, dead: int, oldestPendingAt: int.nullable() }),
  gateways: z.array(GatewayResponse),
});

/** A page of the fleet: a server carries tens of thousands of devices, and no caller needs them all at once. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
};
export const DeviceFilterQuery = {
  site: z.string().min(1).max(200).optional(),
  q: z.string().max(200).optional(),
};
