import { z } from 'zod';
import { DeviceIdSchema, MetricIdSchema, PortSchema } from '../../../core/index.ts';
import { patternProblems } from './topic-map.ts';

const TopicMappingSchema = z
  .strictObject({
    /** MQTT topic with `{device}` and optionally `{metric}` as whole levels, e.g. `sensors/{device}/{metric}`. */
    pattern: z.string(),
    /** Fixed device for a pattern without `{device}`. */
    device: DeviceIdSchema.optional(),
    /** Fixed metric for a pattern without `{metric}` (the payload is then one value). */
    metric: MetricIdSchema.optional(),
  })
  .superRefine((m, ctx) => {
    for (const message of patternProblems(m)) ctx.addIssue({ code: 'custom', path: ['pattern'], message });
  });

const EmbeddedBrokerSchema = z
  .strictObject({
    mode: z.literal('embedded'),
    host: z.string().default('127.0.0.1'),
    port: PortSchema.default(1883),
    /** Sensors that cannot send credentials; only on a closed site network. */
    allowAnonymous: z.boolean().default(false),
    users: z.array(z.strictObject({ username: z.string().min(1), password: z.string().min(1) })).default([]),
  })
  .refine((b) => b.allowAnonymous || b.users.length > 0, {
    message: 'sensors could not connect: list users (password from ${ENV}) or set allowAnonymous: true',
  });

const ExternalBrokerSchema = z.strictObject({
  mode: z.literal('external'),
  url: z.string().regex(/^mqtts?:\/\/.+/, 'an mqtt:// or mqtts:// URL'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Stable id so the broker keeps our session (and queued QoS 1 messages) across reconnects. */
  clientId: z.string().optional(),
});

export const MqttDeviceConfigSchema = z.strictObject({
  kind: z.literal('mqtt-device'),
  id: z.string().regex(/^[a-z0-9_-]+$/).default('mqtt'),
  broker: z.discriminatedUnion('mode', [EmbeddedBrokerSchema, ExternalBrokerSchema]),
  topics: z.array(TopicMappingSchema).min(1),
  /** Larger payloads are refused before parsing. */
  maxPayloadBytes: z.number().int().positive().default(64 * 1024),
});
export type MqttDeviceConfig = z.infer<typeof MqttDeviceConfigSchema>;
