import { z } from 'zod';
import { BrokerUrlsSchema, ClientTlsSchema, DurationSchema, MAX_READINGS_PER_ENVELOPE, brokerUrlList } from '../../core/index.ts';

export const UplinkConfigSchema = z.strictObject({
  /**
   * The central broker: the Vigil server's embedded one, Mosquitto/EMQX in front of it, or the nodes of
   * a clustered broker as a list. With a list the uplink connects to the first and moves to the next
   * whenever a connection fails or drops; the outbox is sent oldest first on every node.
   */
  url: BrokerUrlsSchema,
  /** Defaults to the gateway id, which is what the server's ACL expects. */
  username: z.string().optional(),
  password: z.string().optional(),
  /** Defaults to `vigil-gw-<gatewayId>`, the only id a Vigil server's broker accepts from this gateway. */
  clientId: z.string().optional(),
  /** Readings per Envelope; 50 or more is worth 3-4x end to end over small messages. */
  maxReadingsPerEnvelope: z.number().int().min(1).max(MAX_READINGS_PER_ENVELOPE).default(250),
  /** How long a reading may wait for its Envelope to fill before it is sent anyway. */
  maxDelay: DurationSchema.default(1000),
  /** Envelopes published and not yet acknowledged at most. */
  maxInflight: z.number().int().min(1).max(1000).default(16),
  /** For an `mqtts://` url: the CA to trust (else the system's), and a client certificate for mutual TLS. */
  tls: ClientTlsSchema.optional(),
  reconnect: z
    .strictObject({ initial: DurationSchema.default(1000), max: DurationSchema.default(60_000) })
    .default({ initial: 1000, max: 60_000 }),
});
export type UplinkConfig = z.infer<typeof UplinkConfigSchema>;

/** The broker URLs of an uplink, in the order they are tried. */
export function uplinkUrls(cfg: Pick<UplinkConfig, 'url'>): string[] {
  return brokerUrlList(cfg.url);
}
