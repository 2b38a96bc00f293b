import { z } from 'zod';
import { isId } from './ids.ts';

export const TOPIC_ROOT = 'vigil/v1';
export const SHARD_COUNT = 64;

/** FNV-1a, 32 bit, over the UTF-16 code units of `s` (ids are ASCII, so this equals the byte form). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Shard of a site: lets several servers split a fleet by topic filter on a clustered broker. */
export function shardOf(site: string): number {
  return fnv1a32(site) % SHARD_COUNT;
}

/** `envelope`: readings; `state`: retained online/offline (last will); `status`: retained device states. */
export const TopicKindSchema = z.enum(['envelope', 'state', 'status']);
export type TopicKind = z.infer<typeof TopicKindSchema>;

export const GatewayTopicSchema = z.object({
  shard: z.number().int().min(0).max(SHARD_COUNT - 1),
  site: z.string(),
  gatewayId: z.string(),
  kind: TopicKindSchema,
});
export type GatewayTopic = z.infer<typeof GatewayTopicSchema>;

export function gatewayTopic(site: string, gatewayId: string, kind: TopicKind): string {
  return `${TOPIC_ROOT}/${shardOf(site)}/${site}/${gatewayId}/${kind}`;
}

/** Topic filter for the envelopes of one shard, or of all shards. */
export function envelopeFilter(shard?: number): string {
  return `${TOPIC_ROOT}/${shard ?? '+'}/+/+/envelope`;
}

export function stateFilter(): string {
  return `${TOPIC_ROOT}/+/+/+/state`;
}

/** Parses a gateway topic; undefined when it is not one, or when its shard does not match its site. */
export function parseGatewayTopic(topic: string): GatewayTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , shardText, site, gatewayId, kind] = parts as [string, string, string, string, string, string];
  if (!isId(site) || !isId(gatewayId)) return undefined;
  const shard = Number(shardText);
  if (!Number.isInteger(shard) || shard !== shardOf(site)) return undefined;
  if (kind !== 'envelope' && kind !== 'state' && kind !== 'status') return undefined;
  return { shard, site, gatewayId, kind };
}

export const GatewayStateSchema = z.enum(['online', 'offline']);

export const DeviceStateSchema = z.enum(['connecting', 'online', 'degraded', 'offline']);
export type DeviceState = z.infer<typeof DeviceStateSchema>;

/** The retained `status` message of a gateway: the state of each device it polls, and its outbox. */
export const GatewayStatusSchema = z.strictObject({
  v: z.literal(1),
  at: z.number().int().nonnegative(),
  devices: z
    .array(
      z.strictObject({
        id: z.string().max(64),
        state: DeviceStateSchema,
        since: z.number().int().nonnegative(),
        lastError: z.string().max(500).optional(),
      }),
    )
    .max(10_000),
  /**
   * The equipment of the gateway's devices as its config names it (model, firmware, in service since):
   * the server counts faults per model with it where its ruleset names none.
   */
  equipment: z
    .array(z.strictObject({ id: z.string().max(64), model: z.string().min(1).max(100), firmware: z.string().min(1).max(100).optional(), installedAt: z.iso.date().optional() }))
    .max(10_000)
    .optional(),
  /** The store-and-forward queue: readings held and the sample time of the oldest. */
  outbox: z.strictObject({ readings: z.number().int().nonnegative(), oldestTs: z.number().int().nullable() }).optional(),
  /**
   * What the gateway refused before anything reached the server (unknown devices, bad payloads,
   * values out of range): counts by reason since it started, and the latest few.
   */
  refusals: z
    .strictObject({
      // Keyed by refusal code: a gateway has a handful; a flood of keys is not a report.
      total: z.record(z.string().max(64), z.number().int().nonnegative()).refine((t) => Object.keys(t).length <= 64, 'at most 64 refusal codes'),
      recent: z
        .array(
          z.strictObject({
            at: z.number().int().nonnegative(),
            code: z.string().max(64),
            message: z.string().max(300),
            driver: z.string().max(64),
            deviceId: z.string().max(64).optional(),
            topic: z.string().max(300).optional(),
          }),
        )
        .max(20),
    })
    .optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatusSchema>;
export type GatewayState = z.infer<typeof GatewayStateSchema>;

/**
 * The MQTT client id a gateway connects with. The server's broker binds it to the gateway's login: a
 * gateway may use its own id, or its own id plus `/` and a suffix for extra connections (load tests);
 * `/` cannot occur in an id, so no suffix spells another gateway's id.
 */
export function gatewayClientId(gatewayId: string): string {
  return `vigil-gw-${gatewayId}`;
}

/** Whether `clientId` belongs to the holder of the `base` id (itself, or `base/anything`). */
export function clientIdOf(base: string, clientId: string): boolean {
  return clientId === base || clientId.startsWith(`${base}/`);
}

/** Whether an MQTT topic filter (with `+` and `#`, MQTT 3.1.1 §4.7.1) matches a topic name. */
export function topicMatches(filter: string, topic: string): boolean {
  // §4.7.2: filters starting with a wildcard do not match topics that start with `$`.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  return filterCovers(filter, topic);
}

/**
 * Whether every topic that `inner` can match is matched by `outer` (both filters). An ACL grants a
 * subscription only when one of its filters covers the whole requested filter.
 */
export function filterCovers(outer: string, inner: string): boolean {
  // §4.7.2: a filter starting with a wildcard matches no $-topic, so it grants no $-filter either.
  if (inner.startsWith('$') && (outer.startsWith('#') || outer.startsWith('+'))) return false;
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    const ol = o[k]!;
    if (ol === '#') return true;
    const il = i[k];
    if (il === undefined) return false;
    if (il === '#') return false;
    if (ol === '+') continue;
    if (il === '+' || ol !== il) return false;
  }
  return o.length === i.length;
}
