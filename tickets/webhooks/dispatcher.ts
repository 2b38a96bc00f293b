import { z } from 'zod';
import { AUTH_RETRY_MS, type Clock, Counter, DurationSchema, Gauge, type Logger, type DeliveryOutcome, type Registry, type Service, type TimerHandle, TransitionLog, backoffDelay, classifyHttp, deliveryAttempts, errorMessage } from '../../core/index.ts';
import type { Delivery, WebhookOutbox } from './outbox.ts';
import { SIGNATURE_HEADER, sign } from './signature.ts';

export const WebhookConfigSchema = z
  .strictObject({
    /** Attempts before a delivery goes to the dead-letter list (replayable through the API). */
    maxAttempts: z.number().int().min(1).max(100).default(15),
    initialBackoff: DurationSchema.prefault('2s'),
    maxBackoff: DurationSchema.prefault('15m'),
    /** A receiver that has not answered in this long counts as failed; the attempt is retried. */
    timeout: DurationSchema.prefault('10s'),
    /** Deliveries in flight at once (never two for the same ticket and subscription). */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Delivered rows are kept this long (for the deliveries list), then pruned. */
    keepDelivered: DurationSchema.prefault('7d'),
  })
  .prefault({});
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

const HEADS_PER_QUERY = 256;

/**
 * Delivers the outbox. Lifecycle: start() begins pumping due deliveries (oldest first, one at a time per
 * ticket and subscription); stop() stops taking new ones and waits for those in flight. A delivery is
 * marked done only after a 2xx, so a crash mid-delivery sends it again after the restart with the same
 * idempotency key, and the receiver takes it once.
 */
export class WebhookDispatcher implements Service {
  readonly name = 'webhooks';
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Heads of their (subscription, ticket) queues, due, fetched in one query and not yet attempted. */
  private queue: Delivery[] = [];
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private prunedAt = 0;
  private stopped = true;
  private readonly outcomes: Counter<'result'>;
  private readonly attempts: ReturnType<typeof deliveryAttempts>;
  private readonly receivers = new Map<number, TransitionLog>();

  constructor(
    private readonly config: WebhookConfig,
    private readonly deps: { outbox: WebhookOutbox; clock: Clock; log: Logger; registry: Registry; random?: () => number },
  ) {
    const registers = [deps.registry];
    this.outcomes = new Counter({ name: 'vigil_webhook_attempts_total', help: 'Webhook delivery attempts by result', labelNames: ['result'], registers });
    this.attempts = deliveryAttempts(deps.registry, 'webhook');
    const outbox = deps.outbox;
    new Gauge({
      name: 'vigil_webhook_outbox',
      help: 'Webhook deliveries by status (pending, dead)',
      labelNames: ['status'],
      registers,
      collect() {
        const c = outbox.counts();
        this.set({ status: 'pending' }, c.pending);
        this.set({ status: 'dead' }, c.dead);
      },
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.inFlight.values());
  }

  /** Something was queued or replayed: look for due work now. */
  kick(): void {
    if (this.stopped) return;
    this.pump();
  }

  /** True while a delivery is pending or in flight. */
  get busy(): boolean {
    return this.inFlight.size > 0 || this.deps.outbox.nextDue() !== undefined;
  }

  private pump(): void {
    if (this.stopped) return;
    let refilled = false;
    while (this.inFlight.size < this.config.concurrency) {
      if (this.queue.length === 0) {
        // Finding the heads costs a pass over the pending rows, so take many at once and work through
        // them; a chain's next event is picked up by the next refill, after this one is done.
        if (refilled) break;
        this.queue = this.deps.outbox.heads(this.deps.clock.now(), HEADS_PER_QUERY).filter((d) => !this.inFlight.has(d.id));
        refilled = true;
        if (this.queue.length === 0) break;
      }
      const d = this.queue.shift()!;
      const p = this.attempt(d).finally(() => {
        this.inFlight.delete(d.id);
        this.pump();
      });
      this.inFlight.set(d.id, p);
    }
    this.schedule();
  }

  private schedule(): void {
    const due = this.deps.outbox.nextDue();
    const now = this.deps.clock.now();
    if (now - this.prunedAt > 3_600_000) {
      this.prunedAt = now;
      this.deps.outbox.prune(now - this.config.keepDelivered);
    }
    // With work in flight, finishing it pumps again; otherwise wake at the next due time (at most a
    // minute away, so a row written by another process is not missed for long).
    const at = due === undefined ? now + 60_000 : Math.max(now + 50, Math.min(due, now + 60_000));
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, at - now);
  }

  private async attempt(d: Delivery): Promise<void> {
    const { outbox, clock, log } = this.deps;
    const sub = outbox.subscription(d.subscriptionId);
    if (!sub || !sub.active) {
      outbox.failed(d.id, 'subscription deleted', null);
      return;
    }
    const outcome = await this.post(sub.url, sub.secret, d);
    const now = clock.now();
    const receiver = this.receiverLog(sub.id, sub.url);
    if (outcome.kind === 'ok') {
      outbox.delivered(d.id, now);
      this.outcomes.inc({ result: 'delivered' });
      this.attempts('ok');
      receiver.up({ subscription: sub.id });
      return;
    }
    if (outcome.kind === 'auth') {
      // The receiver's credentials or address are wrong, not the event: keep it, try again slowly, and
      // say so once (the receiver log logs the outage once and its recovery once).
      outbox.failed(d.id, outcome.reason, now + AUTH_RETRY_MS, { countAttempt: false });
      this.outcomes.inc({ result: 'retry' });
      this.attempts('auth');
      receiver.down(`${outcome.reason} (check the subscription's URL and the receiver's credentials; deliveries are kept)`, { subscription: sub.id, url: sub.url });
      return;
    }
    const attempts = d.attempts + 1;
    // One event cannot be halved: a receiver that finds it too large will never take it.
    const dead = outcome.kind !== 'retry' || attempts >= this.config.maxAttempts;
    const delay = Math.max(outcome.kind === 'retry' ? Math.min(outcome.retryAfterMs ?? 0, this.config.maxBackoff) : 0, backoffDelay(attempts - 1, { initialMs: this.config.initialBackoff, maxMs: this.config.maxBackoff, ...(this.deps.random ? { random: this.deps.random } : {}) }));
    outbox.failed(d.id, outcome.reason, dead ? null : now + delay);
    this.outcomes.inc({ result: dead ? 'dead' : 'retry' });
    this.attempts(dead ? (outcome.kind === 'retry' ? 'dead' : outcome.kind) : 'retry');
    receiver.down(outcome.reason, { subscription: sub.id, url: sub.url });
    if (dead) log.warn({ delivery: d.id, subscription: sub.id, event: d.eventId, ticket: d.ticketId, attempts, error: outcome.reason }, 'webhook delivery dead-lettered');
  }

  private async post(url: string, secret: string, d: Delivery): Promise<DeliveryOutcome> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'vigil-webhooks/1',
          'vigil-event': d.type,
          'vigil-delivery': String(d.id),
          'idempotency-key': idempotencyKey(d.eventId),
          [SIGNATURE_HEADER]: sign(secret, d.payload, this.deps.clock.now()),
        },
        body: d.payload,
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.timeout),
      });
      await res.body?.cancel().catch(() => undefined);
      // The same classes as every other output (core/delivery): 2xx ok; 408, 429 and 5xx the receiver's
      // passing trouble; 401, 403, 404 its configuration; any other 4xx a refusal of this payload for good.
      const outcome = classifyHttp(res.status, undefined, res.headers.get('retry-after'), this.deps.clock.now());
      return outcome.kind === 'split' ? { kind: 'drop', reason: outcome.reason } : outcome;
    } catch (err) {
      const e = err as Error;
      return { kind: 'retry', reason: e.name === 'TimeoutError' ? `no answer within ${this.config.timeout} ms` : errorMessage(e.cause ?? e) };
    }
  }

  private receiverLog(id: number, url: string): TransitionLog {
    let t = this.receivers.get(id);
    if (!t) this.receivers.set(id, (t = new TransitionLog(this.deps.log, this.deps.clock, `webhook receiver ${new URL(url).host}`)));
    return t;
  }
}

/** Stable for an event across retries, replays and restarts: the receiver's key to take it once. */
export function idempotencyKey(eventId: number): string {
  // KPI events are numbered apart from ticket events, stored as negative ids.
  return eventId < 0 ? `vigil-kpi-${-eventId}` : `vigil-event-${eventId}`;
}
