import type { z } from 'zod';
import type { Clock, Db, Logger, Reading, Registry, Service } from '../../core/index.ts';
import type { Quarantine } from '../quarantine.ts';

/** Which Envelope a batch came from, and a digest of its bytes (for dedupe across restarts). */
export interface EnvelopeKey {
  gatewayId: string;
  bootId: string;
  seq: number;
  digest: string;
  /** The gateway's site: its windows move with the site's shard. */
  site?: string;
}

/** The valid readings of one Envelope. */
export interface AcceptedBatch {
  site: string;
  gatewayId: string;
  readings: Reading[];
  /** Set by the intake: a sink that commits to the server's database records it in the same transaction. */
  envelope?: EnvelopeKey;
}

/** Records stored Envelopes inside a sink's transaction (idempotent; `undo` when the transaction failed). */
export interface EnvelopeRecorder {
  record(keys: readonly EnvelopeKey[], now: number): void;
  undo(keys: readonly EnvelopeKey[]): void;
}

/**
 * A destination for accepted readings. Lifecycle: start() → write() any number of times → stop().
 * `write` resolves once the batch is durable on this side (written, or spooled for a later attempt);
 * only then is the gateway acknowledged.
 */
export interface TelemetrySink extends Service {
  write(batch: AcceptedBatch): Promise<void>;
  status(): Record<string, unknown>;
}

/** What the server hands a sink it creates: its database (for a durable spool), the quarantine, and the usual. */
export interface SinkDeps {
  db: Db;
  quarantine: Quarantine;
  log: Logger;
  clock: Clock;
  registry: Registry;
  /** Marks the batches' Envelopes as stored in the same transaction as the sink's own rows. */
  recorder?: EnvelopeRecorder;
}

/**
 * A kind of sink: one folder under `ingest/sinks/<kind>/` (with its README and `example.yaml`) and
 * one line in `ingest/sinks/registry.ts`. `config` is its section of `sinks:` without `kind`.
 */
export interface SinkPlugin<C extends z.ZodRawShape = z.ZodRawShape> {
  readonly kind: string;
  readonly summary: string;
  readonly config: z.ZodObject<C>;
  create(config: z.infer<z.ZodObject<C>>, deps: SinkDeps): TelemetrySink;
}

export function defineSink<C extends z.ZodRawShape>(p: SinkPlugin<C>): SinkPlugin<C> {
  return p;
}
