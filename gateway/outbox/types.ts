import { z } from 'zod';
import { DurationSchema, type Reading } from '../../core/index.ts';

export const OverflowPolicySchema = z.enum(['drop_oldest', 'reject_new']);
export type OverflowPolicy = z.infer<typeof OverflowPolicySchema>;

export const OutboxConfigSchema = z.strictObject({
  /**
   * Readings held at most (pending and sealed). Sealed readings take about 10-20 bytes each on disk
   * (deflated Envelopes; `npm run drill -- outage` measures it), so the default is well under 1 GB.
   */
  maxReadings: z.number().int().positive().default(10_000_000),
  /**
   * What happens when the outbox is full: `drop_oldest` keeps the newest data (what a maintenance
   * decision needs most); `reject_new` keeps the oldest. Either way the loss is counted and logged.
   */
  overflow: OverflowPolicySchema.default('drop_oldest'),
  /** `full` fsyncs every commit so data survives power loss, not only a crash; see core/runtime/sqlite.ts. */
  synchronous: z.enum(['normal', 'full']).default('normal'),
  /**
   * Readings nobody waits on (polled values) are committed together at most this far apart, a few
   * transactions a second instead of one per poll. A sensor's MQTT message is committed at once,
   * before its acknowledgement. A crash loses at most this much of polled data that was never stored.
   */
  commitWithin: DurationSchema.prefault('100ms'),
});
export type OutboxConfig = z.infer<typeof OutboxConfigSchema>;

/**
 * Which sensor message readings came from: a QoS 1 PUBLISH's client id and packet id, and a digest of
 * its topic and payload. Recorded with the append, so a resend of the same message (DUP set, MQTT
 * 3.1.1 §3.3.1.1) after a gateway crash is acknowledged without being taken twice.
 */
export interface MessageOrigin {
  clientId: string;
  messageId: number;
  digest: string;
}

export interface EnvelopeHeader {
  site: string;
  gatewayId: string;
  bootId: string;
}

/** An Envelope sealed in the outbox: its bootId and seq are fixed, so a resend after a crash is the same message. */
export interface SealedEnvelope {
  id: number;
  bootId: string;
  seq: number;
  readingCount: number;
  /** The Envelope as JSON, ready to publish. */
  payload: string;
}

export interface OutboxStats {
  pendingReadings: number;
  sealedEnvelopes: number;
  sealedReadings: number;
  /** Sample time of the oldest reading held, if any. */
  oldestTs: number | undefined;
  /** When the oldest pending (unsealed) reading was appended, if any. */
  oldestPendingAt: number | undefined;
  /** Readings the overflow policy discarded (or refused, with `reject_new`) since open. */
  droppedReadings: number;
}

/**
 * Store-and-forward queue on the gateway. Lifecycle: open → append/seal/ack any number of times → close.
 * Readings are durable once `append` resolves. `seal` groups the oldest pending readings into an
 * Envelope with the next sequence number; `ack` removes an Envelope once the uplink broker has it.
 */
export interface Outbox {
  append(readings: readonly Reading[], now: number, origin?: MessageOrigin): Promise<void>;
  /** Whether this message's readings were already appended (a resend whose PUBACK was lost). */
  seenMessage(origin: MessageOrigin): boolean;
  /** Seals up to `maxReadings` of the oldest pending readings (never splitting one append). */
  seal(header: EnvelopeHeader, maxReadings: number, now: number): SealedEnvelope | undefined;
  /** Sealed envelopes with id > afterId, oldest first. */
  sealed(afterId: number, limit: number): SealedEnvelope[];
  ack(id: number): void;
  /** The next seq for `bootId` (one past the highest sealed so far, or 0). */
  nextSeq(bootId: string): number;
  stats(): OutboxStats;
  /**
   * What the uplink asks on every append, from memory (no query): readings pending, Envelopes sealed
   * and not yet acknowledged, and when the oldest pending reading was appended.
   */
  depth(): { pendingReadings: number; sealedEnvelopes: number; oldestPendingAt: number | undefined };
  close(): void;
}

export function envelopeJson(header: EnvelopeHeader, seq: number, sentAt: number, readingsJson: string): string {
  return `{"v":1,"site":${JSON.stringify(header.site)},"gatewayId":${JSON.stringify(header.gatewayId)},"bootId":${JSON.stringify(header.bootId)},"seq":${seq},"sentAt":${sentAt},"readings":[${readingsJson}]}`;
}

/** JSON of the readings without the surrounding brackets, so appends can be joined without re-parsing. */
export function readingsBody(readings: readonly Reading[]): string {
  const s = JSON.stringify(readings);
  return s.slice(1, -1);
}

export function minTs(readings: readonly Reading[]): number {
  let m = Infinity;
  for (const r of readings) if (r.ts < m) m = r.ts;
  return m;
}
