import { z } from 'zod';
import { BrokerLimitsSchema, BrokerTlsSchema, DeviceIdSchema, MetricIdSchema, PortSchema, CROSS_CHECK, crossCheck } from '../../../core/index.ts';
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
  .superRefine(
    crossCheck((m, ctx) => {
      for (const message of patternProblems(m)) ctx.addIssue({ code: 'custom', path: ['pattern'], message });
    }),
    CROSS_CHECK,
  );

const TopicFilterSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((f) => f.split('/').every((l, i, all) => (l === '#' ? i === all.length - 1 : !/[#+]/.test(l) || l === '+')), 'an MQTT topic filter: `+` for one whole level, `#` only as the last level');

/**
 * What one sensor login may do on the site broker. By default it may publish to the topics this
 * driver maps, for any device, and read nothing.
 */
const SensorAclSchema = {
  /** Topic filters it may publish to (default: this driver's `topics`). */
  publish: z.array(TopicFilterSchema).optional(),
  /** Topic filters it may subscribe to (default: none; `$SYS/#` only when listed). */
  subscribe: z.array(TopicFilterSchema).default([]),
  /** Devices it may speak for (default: any device the gateway knows). */
  devices: z.array(DeviceIdSchema).min(1).optional(),
};

/** A sensor login; without `password` it logs in only with a client certificate whose common name is `username`. */
const SensorUserSchema = z.strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).optional(), ...SensorAclSchema });

const EmbeddedBrokerSchema = z
  .strictObject({
    mode: z.literal('embedded'),
    host: z.string().default('127.0.0.1'),
    /** The plain MQTT port; `plain: false` turns it off (TLS only). */
    port: PortSchema.default(1883),
    plain: z.boolean().default(true),
    /** MQTT over TLS on its own port; with `ca`, sensors may log in with a client certificate (CN = username). */
    tls: BrokerTlsSchema.optional(),
    /** Sensors that cannot send credentials; only on a closed site network. */
    allowAnonymous: z.boolean().default(false),
    /** What anonymous sensors may do (the same defaults as a user's). */
    anonymous: z.strictObject(SensorAclSchema).prefault({}),
    users: z.array(SensorUserSchema).default([]),
    /**
     * Retained messages the broker keeps for sensors: beyond `maxMessages` topics, or over
     * `maxBytes`, a message is delivered and its readings taken, but not retained.
     */
    retained: z.strictObject({ maxMessages: z.number().int().min(0).max(1_000_000).default(1000), maxBytes: z.number().int().min(0).max(1024 * 1024).default(4096) }).prefault({}),
    /** Packet sizes before and after login, connect timeout, connections per address, failed-login rate. */
    limits: BrokerLimitsSchema,
  })
  .superRefine(
    crossCheck((b, ctx) => {
      if (!b.allowAnonymous && b.users.length === 0) {
        ctx.addIssue({ code: 'custom', path: [], message: 'sensors could not connect: list users (password from ${ENV}) or set allowAnonymous: true' });
      }
      const seen = new Set<string>();
      if (!b.plain && !b.tls) ctx.addIssue({ code: 'custom', path: ['plain'], message: 'with the plain port off, configure tls' });
      b.users.forEach((u, i) => {
        if (!u.password && !b.tls?.ca) ctx.addIssue({ code: 'custom', path: ['users', i, 'password'], message: 'a user without a password needs client certificates: set tls.ca' });
        if (seen.has(u.username)) ctx.addIssue({ code: 'custom', path: ['users', i, 'username'], message: `user ${u.username} is listed twice` });
        seen.add(u.username);
      });
    }),
    CROSS_CHECK,
  );

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
