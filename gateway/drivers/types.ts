import type { z } from 'zod';
import type { Clock, DeviceState, Logger, Reading, Registry, Rejection, Service, TimeWindow } from '../../core/index.ts';
import type { MessageOrigin } from '../outbox/types.ts';

/** Where drivers hand their readings. Resolves once they are durable in the outbox. */
export interface ReadingSink {
  /** `origin`: the sensor message they came from, recorded so its resend is not taken twice. */
  accept(readings: Reading[], origin?: MessageOrigin): Promise<void>;
  /** Whether the readings of this message are already in the outbox. */
  seen(origin: MessageOrigin): boolean;
}

/** What a driver learns about the site it runs on. */
export interface DriverContext {
  log: Logger;
  clock: Clock;
  registry: Registry;
  sink: ReadingSink;
  /** True when readings of this device are accepted (listed in the config, or unknown devices allowed). */
  isKnownDevice(deviceId: string): boolean;
  /** The accepted sample-time window now. */
  window(): TimeWindow;
  /** Counts a refused payload or reading, by driver and reason code. */
  rejected(driverId: string, rejection: Rejection, detail: { topic?: string; deviceId?: string }): void;
  /** Counts accepted readings. */
  accepted(driverId: string, count: number): void;
}

/**
 * Lifecycle: created from validated config → start() connects or listens (it does not fail because a
 * device is unreachable; that is retried and reported) → stop() releases everything.
 */
export interface Driver extends Service {
  readonly id: string;
  readonly kind: string;
  status(): Record<string, unknown>;
  /** Per-device state, for drivers that poll devices (Modbus). */
  devices?(): readonly { id: string; state: DeviceState; since: number; lastError?: string | undefined }[];
}

/** A driver plugin: its kind, its config schema (the single source of truth) and its factory. */
export interface DriverDefinition<C extends { kind: string; id: string }> {
  kind: C['kind'];
  description: string;
  configSchema: z.ZodType<C>;
  create(config: C, ctx: DriverContext): Driver;
}
