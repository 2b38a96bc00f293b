import type { Reading, Service } from '../../core/index.ts';

/** Which Envelope a batch came from, and a digest of its bytes (for dedupe across restarts). */
export interface EnvelopeKey {
  gatewayId: string;
  bootId: string;
  seq: number;
  digest: string;
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
