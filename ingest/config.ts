// The configuration of the intake path (broker, intake limits, the TSDB sink); the server's config
// (server/config.ts) composes them with the other parts'.
import { z } from 'zod';
import { BrokerLimitsSchema, BrokerUrlsSchema, BrokerTlsSchema, DurationSchema, GatewayIdSchema, PortSchema, SHARD_COUNT, SiteIdSchema, isSecretHash } from '../core/index.ts';

const PasswordHashSchema = z.string().refine(isSecretHash, 'must be a hash from `vigil credential`, not a password');

export const GatewayCredentialSchema = z.strictObject({
  gatewayId: GatewayIdSchema,
  site: SiteIdSchema,
  /** Without it the gateway logs in only with a client certificate whose common name is its id. */
  passwordHash: PasswordHashSchema.optional(),
});
export type GatewayCredential = z.infer<typeof GatewayCredentialSchema>;

export const EmbeddedBrokerSchema = z.strictObject({
  mode: z.literal('embedded'),
  host: z.string().default('127.0.0.1'),
  /** The plain MQTT port; `plain: false` turns it off (TLS only). */
  port: PortSchema.default(1883),
  plain: z.boolean().default(true),
  /** MQTT over TLS on its own port; with `ca`, gateways may log in with a client certificate (CN = gateway id). */
  tls: BrokerTlsSchema.optional(),
  /** One entry per gateway: it may publish only under its own site and gateway id. */
  gateways: z.array(GatewayCredentialSchema).default([]),
  /** Read-only accounts that may subscribe to `vigil/v1/#` (monitoring, a second server). */
  subscribers: z.array(z.strictObject({ username: z.string().min(1), passwordHash: PasswordHashSchema })).default([]),
  /** Packet sizes before and after login, connect timeout, connections per address, failed-login rate. */
  limits: BrokerLimitsSchema,
});

export const ExternalBrokerSchema = z.strictObject({
  mode: z.literal('external'),
  /** The broker, or every node of a clustered broker (the server moves to the next when one fails). */
  url: BrokerUrlsSchema,
  username: z.string().optional(),
  password: z.string().optional(),
  /** Stable, so the broker keeps this server's session and queues messages while it is down. */
  clientId: z.string().min(1).default('vigil-server'),
  /**
   * Shards this instance takes (topic level 3); all by default. Split a large fleet across servers: a
   * fixed list, or `leased` (servers share the shards through leases in the shared PostgreSQL store,
   * and a dead server's shards move to the others; see `cluster:`).
   */
  shards: z.union([z.literal('all'), z.literal('leased'), z.array(z.number().int().min(0).max(SHARD_COUNT - 1)).min(1)]).default('all'),
});

/** Where gateways' Envelopes come from: the embedded broker, or a subscription to an existing one. */
export const BrokerConfigSchema = z.discriminatedUnion('mode', [EmbeddedBrokerSchema, ExternalBrokerSchema]);

/** The intake path's own limits: how old or new a reading may be, how large an Envelope. */
export const IntakeConfigSchema = z
  .strictObject({
    maxAge: DurationSchema.prefault('400d'),
    maxFuture: DurationSchema.prefault('5m'),
    maxEnvelopeBytes: z.number().int().positive().default(8 * 1024 * 1024),
  })
  .prefault({});
