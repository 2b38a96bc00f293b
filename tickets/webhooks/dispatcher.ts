import { type Clock, Counter, type DispatchConfig, DispatchConfigSchema, Dispatcher, Gauge, type Logger, type Queued, type Registry, type Route } from '../../core/index.ts';
import { DESTINATIONS } from '../destinations/registry.ts';
import type { OutgoingEvent } from '../destinations/types.ts';
import { postEvent } from '../destinations/webhook/send.ts';
import { type WebhookOutbox, subscriptionOf } from './outbox.ts';

/** `tickets.webhooks`: how every ticket output (API subscriptions and configured destinations) is delivered. */
export const WebhookConfigSchema = DispatchConfigSchema;
export type WebhookConfig = DispatchConfig;

/** The event of a queued item, parsed only when a destination reads it (a subscription sends the body as it is). */
export function outgoing(d: Queued): OutgoingEvent {
  let parsed: OutgoingEvent['event'] | undefined;
  return {
    idempotencyKey: idempotencyKey(d.eventId),
    deliveryId: d.id,
    body: d.payload,
    get event() {
      return (parsed ??= JSON.parse(d.payload) as OutgoingEvent['event']);
    },
  };
}

/** How a subscription made through the API is delivered: the signed webhook, in the subscription's format. */
export function subscriptionRoute(outbox: WebhookOutbox, clock: Clock, timeoutMs: number): (target: string) => Promise<Route | undefined> {
  return async (target) => {
    const id = subscriptionOf(target);
    const sub = id === undefined ? undefined : await outbox.subscription(id);
    if (!sub || !sub.active) return undefined;
    return {
      output: 'webhook',
      label: `webhook receiver ${new URL(sub.url).host}`,
      authHint: "check the subscription's URL and the receiver's credentials",
      send: (d, signal) => postEvent({ url: sub.url, secret: sub.secret, format: sub.format, timeoutMs, now: () => clock.now() }, outgoing(d), signal),
    };
  };
}

/**
 * The dispatcher of the ticket outputs, on the shared delivery core, with the webhook metrics of earlier
 * releases (`vigil_webhook_attempts_total`, `vigil_webhook_outbox`) beside the common ones.
 */
export class WebhookDispatcher extends Dispatcher {
  constructor(
    config: WebhookConfig,
    deps: { outbox: WebhookOutbox; clock: Clock; log: Logger; registry: Registry; random?: () => number; route?: (target: string) => Route | undefined | Promise<Route | undefined> },
  ) {
    const registers = [deps.registry];
    const outcomes = new Counter({ name: 'vigil_webhook_attempts_total', help: 'Webhook delivery attempts by result', labelNames: ['result'], registers });
    const outbox = deps.outbox;
    new Gauge({
      name: 'vigil_webhook_outbox',
      help: 'Webhook deliveries by status (pending, dead)',
      labelNames: ['status'],
      registers,
      aggregator: 'max',
      async collect() {
        const c = await outbox.counts();
        this.set({ status: 'pending' }, c.pending);
        this.set({ status: 'dead' }, c.dead);
      },
    });
    super(config, {
      queue: outbox.queue,
      route: deps.route ?? subscriptionRoute(outbox, deps.clock, config.timeout),
      clock: deps.clock,
      log: deps.log,
      registry: deps.registry,
      outputs: [...new Set(['webhook', ...DESTINATIONS.map((d) => d.kind)])],
      ...(deps.random ? { random: deps.random } : {}),
      observe: (route, result) => {
        if (route.output === 'webhook') outcomes.inc({ result });
      },
    });
  }
}

/** Stable for an event across retries, replays and restarts: the receiver's key to take it once. */
export function idempotencyKey(eventId: number): string {
  // KPI events are numbered apart from ticket events, stored as negative ids; monthly reports beyond them.
  if (eventId <= -REPORT_EVENT_BASE) return `vigil-report-${-eventId - REPORT_EVENT_BASE}`;
  return eventId < 0 ? `vigil-kpi-${-eventId}` : `vigil-event-${eventId}`;
}

/** Where the outbox ids of `report.faults` events start (negated): far beyond any count of KPI events. */
export const REPORT_EVENT_BASE = 1_000_000_000;
