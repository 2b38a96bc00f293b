import type { Reading, Service } from '../../core/index.ts';

/** The valid readings of one Envelope. */
export interface AcceptedBatch {
  site: string;
  gatewayId: string;
  readings: Reading[];
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
