import type { Clock, DeliveryQueue, OutgoingPayload, Logger, Route, WebhookEventType } from '../../core/index.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { outgoing, subscriptionRoute } from '../webhooks/dispatcher.ts';
import { type EventFilter, wants } from './filter.ts';
import { type DestinationEntry, destinationOf } from './registry.ts';
import type { Destination } from './types.ts';

const TARGET = 'destination:';

interface Configured {
  entry: DestinationEntry;
  filter: EventFilter;
  destination: Destination;
  route: Route;
}

/**
 * Everything a ticket event goes out to: the webhook subscriptions made through the API and the
 * destinations of the config file (`tickets.destinations`), all on the one delivery queue. An event is
 * queued in the ticket change's transaction, once per target that wants it.
 */
export class TicketOutputs {
  private readonly configured = new Map<string, Configured>();
  private readonly subscriptions: (target: string) => Promise<Route | undefined>;

  constructor(
    entries: readonly DestinationEntry[],
    private readonly deps: { outbox: WebhookOutbox; clock: Clock; log: Logger; baseUrl: string | undefined; timeoutMs: number },
  ) {
    this.subscriptions = subscriptionRoute(deps.outbox, deps.clock, deps.timeoutMs);
    for (const entry of entries) {
      const plugin = destinationOf(entry.kind);
      if (!plugin) throw new Error(`tickets.destinations: unknown kind ${entry.kind}`);
      const { kind: _k, name: _n, events, priorities, sites, ...own } = entry;
      // Entries come parsed by DestinationEntrySchema (the config file's), which checked them against the kind's schema.
      const destination = plugin.create(own as Parameters<typeof plugin.create>[0], { clock: deps.clock, log: deps.log.child({ destination: entry.name }), baseUrl: deps.baseUrl });
      const route: Route = { output: entry.kind, label: `${destination.label} (destination ${entry.name})`, authHint: destination.authHint, send: (d, signal) => destination.send(outgoing(d), signal) };
      this.configured.set(entry.name, { entry, filter: { events: events as EventFilter['events'], priorities, sites }, destination, route });
    }
  }

  get queue(): DeliveryQueue {
    return this.deps.outbox.queue;
  }

  /** Queues the event for every subscription and destination that wants it; call inside the change's transaction. */
  async enqueue(ev: { id: number; type: WebhookEventType; ticketId: number }, event: OutgoingPayload, now: number): Promise<number> {
    const body = JSON.stringify(event);
    let n = await this.deps.outbox.enqueue(ev, body, now);
    for (const [name, c] of this.configured) {
      if (!wants(c.filter, event)) continue;
      await this.deps.outbox.queue.enqueue({ target: `${TARGET}${name}`, key: String(ev.ticketId), eventId: ev.id, type: ev.type, payload: body }, now);
      n++;
    }
    return n;
  }

  route = async (target: string): Promise<Route | undefined> => {
    if (target.startsWith(TARGET)) return this.configured.get(target.slice(TARGET.length))?.route;
    return this.subscriptions(target);
  };

  /** The configured destinations with what each holds (secrets and addresses are not shown). */
  list(): Promise<{ name: string; kind: string; events: string[]; priorities: string[] | null; sites: string[] | null; pending: number; dead: number }[]> {
    return Promise.all([...this.configured.values()].map(async ({ entry }) => {
      const c = await this.queue.counts(`${TARGET}${entry.name}`);
      return { name: entry.name, kind: entry.kind, events: entry.events, priorities: entry.priorities ?? null, sites: entry.sites ?? null, pending: c.pending, dead: c.dead };
    }));
  }

  has(name: string): boolean {
    return this.configured.has(name);
  }

  /** A configured destination's deliveries (or all of them), newest first. */
  async deliveries(q: { name?: string | undefined; status?: 'pending' | 'delivered' | 'dead' | undefined; limit: number; offset: number }) {
    const { items, total } = await this.queue.list({ status: q.status, ...(q.name !== undefined ? { target: `${TARGET}${q.name}` } : { targetPrefix: TARGET }), limit: q.limit, offset: q.offset });
    return { deliveries: items.map(({ payload: _, target, key, ...d }) => ({ ...d, destination: target.slice(TARGET.length), ticketId: Number(key) })), total };
  }

  /** Sends a dead letter of a configured destination again (same idempotency key). */
  replay(id: number, now: number): Promise<boolean> {
    return this.queue.replay(id, now, (target) => target.startsWith(TARGET) && this.configured.has(target.slice(TARGET.length)));
  }

  close(): void {
    for (const c of this.configured.values()) c.destination.close?.();
  }
}
