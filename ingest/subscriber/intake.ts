import {
  type Clock,
  Counter,
  type Envelope,
  EnvelopeSchema,
  GatewayStatusSchema,
  type Logger,
  type Reading,
  type Registry,
  type RejectCode,
  type TimeWindow,
  checkReading,
  parseGatewayTopic,
} from '../../core/index.ts';
import type { DeviceDirectory, GatewayDirectory } from '../devices.ts';
import type { Quarantine } from '../quarantine.ts';
import type { AcceptedBatch, TelemetrySink } from '../sinks/types.ts';
import { createHash } from 'node:crypto';
import type { EnvelopeKey } from '../sinks/types.ts';
import type { EnvelopeDedupe } from './dedupe.ts';
import type { DedupeLedger } from './ledger.ts';

export interface IntakeOptions {
  maxEnvelopeBytes: number;
  window: () => TimeWindow;
}

export interface IntakeDeps {
  sinks: readonly TelemetrySink[];
  /** Persists what dedupe knows, with the writes (see DedupeLedger); built over `dedupe`. */
  ledger: DedupeLedger;
  dedupe: EnvelopeDedupe;
  quarantine: Quarantine;
  devices: DeviceDirectory;
  gateways: GatewayDirectory;
  log: Logger;
  clock: Clock;
  registry: Registry;
}

/** Who sent a message, when the broker knows (embedded broker); undefined behind an external broker. */
export interface Sender {
  site: string;
  gatewayId: string;
}

export type BatchListener = (batch: AcceptedBatch) => void;

/**
 * Decodes, validates and deduplicates gateway messages, and resolves only once the valid readings are
 * durable in every sink, so whoever acknowledges the message (broker hook or subscriber) does so after
 * the write. Nothing here throws for bad input: an Envelope that cannot be used is quarantined with its
 * reason and acknowledged (resending it would not make it better); invalid readings are quarantined
 * and the rest of the Envelope is stored. Only a failed durable write rejects, so the message is resent.
 */
export class Intake {
  /** Envelopes being written now: a resend that arrives meanwhile waits for the first and is then a duplicate. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly listeners: BatchListener[] = [];
  private readonly warned = new Set<string>();
  private readonly metrics;

  constructor(
    private readonly opts: IntakeOptions,
    private readonly deps: IntakeDeps,
  ) {
    const registers = [deps.registry];
    this.metrics = {
      ingested: new Counter({ name: 'vigil_readings_ingested_total', help: 'Readings accepted and durably written', registers }),
      rejected: new Counter({ name: 'vigil_readings_rejected_total', help: 'Readings refused, by reason code', labelNames: ['code'], registers }),
      envelopes: new Counter({
        name: 'vigil_envelopes_total',
        help: 'Gateway Envelopes received, by outcome (accepted, duplicate, seq_reused, quarantined)',
        labelNames: ['outcome'],
        registers,
      }),
    };
    this.metrics.ingested.inc(0);
  }

  /** Per shard: how old the last Envelope taken was when it was taken (now − its sentAt), and when. */
  private readonly shardLag = new Map<number, { lagMs: number; at: number }>();

  /** The lag of each shard this intake has taken Envelopes of (for `GET /api/v1/cluster`). */
  lagByShard(): ReadonlyMap<number, { lagMs: number; at: number }> {
    return this.shardLag;
  }

  /** Readings accepted from now on are also handed to `listener` (the rule engine, history). */
  onBatch(listener: BatchListener): void {
    this.listeners.push(listener);
  }

  async accept(topic: string, payload: Buffer, sender?: Sender): Promise<void> {
    const now = this.deps.clock.now();
    const t = parseGatewayTopic(topic);
    if (!t) return this.quarantineEnvelope('bad_topic', `not a Vigil gateway topic: ${topic.slice(0, 200)}`, topic, payload, sender);
    if (sender && (sender.site !== t.site || sender.gatewayId !== t.gatewayId)) {
      return this.quarantineEnvelope('acl', `gateway ${sender.gatewayId} published on the topic of ${t.gatewayId}`, topic, payload, sender);
    }
    if (t.kind === 'state') {
      const s = payload.toString('utf8');
      if (s === 'online' || s === 'offline') this.deps.gateways.state(t.site, t.gatewayId, s, now);
      return;
    }
    if (t.kind === 'status') {
      // A status message is a few KB; the Envelope limit bounds it too, before it is parsed.
      if (payload.length > this.opts.maxEnvelopeBytes) return this.quarantineEnvelope('too_large', `status message of ${payload.length} bytes exceeds ${this.opts.maxEnvelopeBytes}`, topic, payload, t);
      let status: unknown;
      try {
        status = JSON.parse(payload.toString('utf8'));
      } catch {
        return this.quarantineEnvelope('bad_payload', 'device status is not JSON', topic, payload, t);
      }
      const parsed = GatewayStatusSchema.safeParse(status);
      if (!parsed.success) return this.quarantineEnvelope('bad_envelope', `invalid device status: ${parsed.error.issues[0]?.message}`, topic, payload, t);
      this.deps.devices.states(t.site, t.gatewayId, parsed.data.devices, now);
      if (parsed.data.outbox) this.deps.gateways.outbox(t.site, t.gatewayId, parsed.data.outbox, parsed.data.at);
      if (parsed.data.refusals) this.deps.gateways.refusals(t.site, t.gatewayId, parsed.data.refusals);
      if (parsed.data.equipment) this.deps.gateways.equipment(t.site, t.gatewayId, parsed.data.equipment);
      return;
    }
    if (payload.length > this.opts.maxEnvelopeBytes) {
      return this.quarantineEnvelope('too_large', `Envelope of ${payload.length} bytes exceeds ${this.opts.maxEnvelopeBytes}`, topic, payload, t);
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.quarantineEnvelope('bad_payload', `not JSON: ${(err as Error).message}`, topic, payload, t);
    }
    const parsed = EnvelopeSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      return this.quarantineEnvelope('bad_envelope', `invalid Envelope: ${issues.join('; ')}`, topic, payload, t);
    }
    const env = parsed.data;
    if (env.site !== t.site || env.gatewayId !== t.gatewayId) {
      return this.quarantineEnvelope('acl', `Envelope of ${env.site}/${env.gatewayId} on the topic of ${t.site}/${t.gatewayId}`, topic, payload, t);
    }
    // 96 bits of SHA-1 tell a resend from other content; the rest would only grow the ledger.
    const digest = createHash('sha1').update(payload).digest('base64').slice(0, 16);
    const id = `${env.gatewayId}\u0000${env.bootId}\u0000${env.seq}`;
    const earlier = this.inflight.get(id);
    if (earlier) await earlier.catch(() => undefined);
    const verdict = this.deps.dedupe.check(env.gatewayId, env.bootId, env.seq, digest);
    if (verdict === 'duplicate') {
      this.metrics.envelopes.inc({ outcome: 'duplicate' });
      this.deps.gateways.envelope(env.site, env.gatewayId, env.bootId, env.seq, now, true);
      return;
    }
    if (verdict === 'conflict') {
      // Not a resend (those are byte for byte): a gateway reused a seq for other readings. They are
      // kept whole in the quarantine for an operator, never silently dropped.
      this.metrics.envelopes.inc({ outcome: 'seq_reused' });
      return this.quarantineEnvelope('seq_reused', `seq ${env.seq} of boot ${env.bootId} was already stored with other content`, topic, payload, t, this.opts.maxEnvelopeBytes);
    }
    const work = this.store(env, topic, { gatewayId: env.gatewayId, bootId: env.bootId, seq: env.seq, digest, site: env.site }, now);
    this.inflight.set(id, work);
    try {
      await work;
    } finally {
      this.inflight.delete(id);
    }
    // The last Envelope's age: while a backlog drains it says how far behind the shard is.
    this.shardLag.set(t.shard, { lagMs: Math.max(0, now - env.sentAt), at: now });
  }

  private async store(env: Envelope, topic: string, key: EnvelopeKey, now: number): Promise<void> {
    const window = this.opts.window();
    const valid: Reading[] = [];
    const refused: { code: RejectCode; reason: string; item: unknown }[] = [];
    for (const r of env.readings) {
      const problem = checkReading(r, window);
      if (problem === undefined) valid.push(r as Reading);
      else refused.push({ code: problem.code, reason: problem.message, item: r });
    }

    const batch: AcceptedBatch = { site: env.site, gatewayId: env.gatewayId, readings: valid, envelope: key };
    // The Envelope is marked stored in the same transaction as its readings (or on its own when no sink takes them).
    if (valid.length > 0 && this.deps.sinks.length > 0) await Promise.all(this.deps.sinks.map((s) => s.write(batch)));
    else await this.deps.ledger.commit(key);
    if (refused.length > 0) {
      for (const r of refused) this.metrics.rejected.inc({ code: r.code });
      this.deps.quarantine.add({
        at: now,
        code: refused[0]!.code,
        reason: `${refused.length} of ${env.readings.length} readings refused in seq ${env.seq}; first: ${refused[0]!.reason}`,
        site: env.site,
        gatewayId: env.gatewayId,
        topic,
        details: refused,
        payload: null,
      });
    }
    this.deps.gateways.envelope(env.site, env.gatewayId, env.bootId, env.seq, now, false);
    this.metrics.envelopes.inc({ outcome: 'accepted' });
    if (valid.length === 0) return;
    this.metrics.ingested.inc(valid.length);
    this.deps.devices.update(env.site, env.gatewayId, valid, now);
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.deps.log.error({ err }, 'batch listener failed');
      }
    }
  }

  private quarantineEnvelope(code: RejectCode, reason: string, topic: string, payload: Buffer, from: Sender | undefined, keepBytes = 2048): void {
    this.metrics.envelopes.inc({ outcome: 'quarantined' });
    this.metrics.rejected.inc({ code });
    // Once per gateway and reason in the log; every occurrence on the counter and in the quarantine.
    const key = `${from?.gatewayId ?? ''}\u0000${code}`;
    if (!this.warned.has(key) && this.warned.size < 10_000) {
      this.warned.add(key);
      this.deps.log.warn({ code, reason, topic: topic.slice(0, 200), gatewayId: from?.gatewayId }, 'Envelope quarantined');
    }
    this.deps.quarantine.add({
      at: this.deps.clock.now(),
      code,
      reason,
      site: from?.site ?? null,
      gatewayId: from?.gatewayId ?? null,
      topic: topic.slice(0, 500),
      details: [],
      payload: payload.subarray(0, keepBytes).toString('utf8'),
    }, keepBytes);
  }
}
