import type { z } from 'zod';
import type { Clock, DeliveryOutcome, OutgoingPayload, Logger } from '../../core/index.ts';

/** One event as a destination receives it: the webhook body (parsed) and the keys that stay stable. */
export interface OutgoingEvent {
  /** `vigil-event-<n>` or `vigil-kpi-<n>`: the same across retries, replays and restarts. */
  idempotencyKey: string;
  /** The queue item's id (a delivery id, shown in the deliveries list). */
  deliveryId: number;
  /** The event exactly as a webhook carries it. */
  body: string;
  event: OutgoingPayload;
}

/** What the server gives a destination it creates. */
export interface DestinationDeps {
  clock: Clock;
  log: Logger;
  /** Where people reach the console (`tickets.links.baseUrl`); links are relative without it. */
  baseUrl: string | undefined;
}

/** A created destination: sends one event and answers with the outcome set of every output. */
export interface Destination {
  /** Named in the outage and recovery log lines ("email relay smtp.example.com"). */
  readonly label: string;
  /** Said once when the target refuses the credentials. */
  readonly authHint: string;
  send(ev: OutgoingEvent, signal: AbortSignal): Promise<DeliveryOutcome>;
  close?(): void;
}

/**
 * A kind of ticket destination: one folder under `tickets/destinations/<kind>/` (with its README and
 * `example.yaml`) and one line in `tickets/destinations/registry.ts`. `config` is its entry of
 * `tickets.destinations:` without `kind`, `name` and the event filters, which every kind shares.
 */
export interface DestinationPlugin<C extends z.ZodRawShape = z.ZodRawShape> {
  readonly kind: string;
  readonly summary: string;
  readonly config: z.ZodObject<C>;
  /** What the schema alone cannot say (settings that go together), as config issues at load. */
  check?(config: z.infer<z.ZodObject<C>>): { path: string; message: string }[];
  create(config: z.infer<z.ZodObject<C>>, deps: DestinationDeps): Destination;
}

export function defineDestination<C extends z.ZodRawShape>(p: DestinationPlugin<C>): DestinationPlugin<C> {
  return p;
}
