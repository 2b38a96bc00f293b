import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { type Clock, DurationSchema, type Logger, type Registry, type Service, type TimerHandle, TransitionLog, errorMessage } from '../runtime/index.ts';
import { deliveryAttempts, deliveryQueue } from './metrics.ts';
import type { DeliveryOutcome, DeliveryOutcomeKind } from './outcome.ts';
import { decide } from './policy.ts';
import type { DeliveryQueue, Queued } from './queue.ts';

export const DispatchConfigSchema = z
  .strictObject({
    /** Attempts before an item goes to the dead-letter list (replayable through the API). */
    maxAttempts: z.number().int().min(1).max(100).default(15),
    initialBackoff: DurationSchema.prefault('2s'),
    maxBackoff: DurationSchema.prefault('15m'),
    /** A target that has not answered in this long counts as failed; the attempt is retried. */
    timeout: DurationSchema.prefault('10s'),
    /** Deliveries in flight at once (never two for the same ticket and target). */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Delivered rows are kept this long (for the deliveries list), then pruned. */
    keepDelivered: DurationSchema.prefault('7d'),
  })
  .prefault({});
export type DispatchConfig = z.infer<typeof DispatchConfigSchema>;

/** Where the items of one target go: its output kind (metrics), its name (logs) and how to send one. */
export interface Route {
  /** The output kind, the `output` label of the delivery metrics: `webhook`, `email`, `chat`. */
  output: string;
  /** Named in the outage and recovery log lines: "webhook receiver hooks.example.com". */
  label: string;
  send(item: Queued, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Said once with an `auth` outcome: what to check. */
  authHint?: string;
}

export interface DispatcherDeps {
  queue: DeliveryQueue;
  /** The route of a target; undefined when the target is gone (its items are dead-lettered). */
  route(target: string): Route | undefined | Promise<Route | undefined>;
  clock: Clock;
  log: Logger;
  registry: Registry;
  random?: () => number;
  /** The output kinds the queue gauge reports, each from the start (0 until something waits). */
  outputs: readonly string[];
  /** Told every attempt's result (the webhook's own metrics of earlier releases). */
  observe?(route: Route, result: 'delivered' | 'retry' | 'dead'): void;
  /** This server's name in the queue's claims (default: host, process and a random part). */
  owner?: string;
}

const HEADS_PER_QUERY = 256;
/** A claim lasts an attempt's timeout and this much more. */
const CLAIM_MARGIN_MS = 5_000;

/**
 * Delivers the queue. Lifecycle: start() begins pumping due items (oldest first, one at a time per
 * target and key); stop() stops taking new ones, aborts those in flight and waits for them. An item is
 * marked done only after its target took it, so a crash mid-delivery sends it again after the restart
 * with the same idempotency key, and a target that honours the key takes it once.
 */
export class Dispatcher implements Service {
  readonly name = 'deliveries';
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Heads of their (target, key) chains, due, fetched in one query and not yet attempted. */
  private batch: Queued[] = [];
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private prunedAt = 0;
  private stopped = true;
  private abort = new AbortController();
  private readonly links = new Map<string, TransitionLog>();
  private readonly counters = new Map<string, (o: DeliveryOutcomeKind) => void>();
  private pumping: Promise<void> | undefined;
  private again = false;
  private readonly owner: string;

  constructor(
    private readonly config: DispatchConfig,
    private readonly deps: DispatcherDeps,
  ) {
    const queue = deps.queue;
    this.owner = deps.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    let cache: { at: number; byOutput: Promise<Map<string, number>> } | undefined;
    // One gauge read per scrape groups the pending rows by output; the outputs share the reading.
    const pending = async (output: string) => {
      const now = Date.now();
      if (!cache || now - cache.at > 500) {
        const read = async () => {
          const byOutput = new Map<string, number>();
          for (const [target, n] of await queue.pendingByTarget()) {
            const o = (await deps.route(target))?.output ?? 'gone';
            byOutput.set(o, (byOutput.get(o) ?? 0) + n);
          }
          return byOutput;
        };
        cache = { at: now, byOutput: read() };
      }
      return (await cache.byOutput).get(output) ?? 0;
    };
    for (const output of deps.outputs) deliveryQueue(deps.registry, output, () => pending(output));
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.abort = new AbortController();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.batch = [];
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    // A slow target must not hold the stop: what is in flight is abandoned and stays pending.
    this.abort.abort();
    await Promise.all(this.inFlight.values());
  }

  /** Something was queued or replayed: look for due work now. */
  kick(): void {
    if (this.stopped) return;
    // One pass at a time; a kick during a pass asks for another after it.
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => this.deps.log.error({ err }, 'delivery queue unreadable; trying again shortly'))
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** True while an item is pending or in flight. */
  async busy(): Promise<boolean> {
    return this.inFlight.size > 0 || this.pumping !== undefined || (await this.deps.queue.nextDue()) !== undefined;
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    let refilled = false;
    while (this.inFlight.size < this.config.concurrency && !this.stopped) {
      if (this.batch.length === 0) {
        // Finding the heads costs a pass over the pending rows, so take many at once and work through
        // them; a chain's next item is picked up by the next refill, after this one is done. The claim
        // outlasts an attempt, so no other server sends an item this one is still sending.
        if (refilled) break;
        const now = this.deps.clock.now();
        const until = now + this.config.timeout + CLAIM_MARGIN_MS;
        this.batch = (await this.deps.queue.claim(now, HEADS_PER_QUERY, this.owner, until)).filter((d) => !this.inFlight.has(d.id));
        refilled = true;
        if (this.batch.length === 0 || this.stopped) break;
      }
      const d = this.batch.shift()!;
      const p = this.attempt(d)
        .catch((err: unknown) => this.deps.log.error({ err, delivery: d.id }, 'delivery outcome not recorded; the item is sent again'))
        .finally(() => {
          this.inFlight.delete(d.id);
          this.kick();
        });
      this.inFlight.set(d.id, p);
    }
    await this.schedule();
  }

  private async schedule(): Promise<void> {
    if (this.stopped) return;
    const due = await this.deps.queue.nextDue();
    const now = this.deps.clock.now();
    if (now - this.prunedAt > 3_600_000) {
      this.prunedAt = now;
      await this.deps.queue.prune(now - this.config.keepDelivered);
    }
    if (this.stopped) return;
    // With work in flight, finishing it pumps again; otherwise wake at the next due time (at most a
    // minute away, so a row written by another process is not missed for long).
    const at = due === undefined ? now + 60_000 : Math.max(now + 50, Math.min(due, now + 60_000));
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.kick();
    }, at - now);
  }

  private async attempt(d: Queued): Promise<void> {
    const { queue, clock, log } = this.deps;
    const route = await this.deps.route(d.target);
    if (!route) {
      await queue.failed(d.id, 'destination removed', null);
      return;
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await route.send(d, this.abort.signal);
    } catch (err) {
      outcome = { kind: 'retry', reason: errorMessage(err) };
    }
    // Stopping mid-attempt: the item stays as it was, to be sent again after the restart.
    if (this.abort.signal.aborted && outcome.kind !== 'ok') {
      await queue.release(d.id).catch(() => undefined);
      return;
    }
    const now = clock.now();
    const link = this.link(d.target, route);
    const fields = { target: d.target, output: route.output };
    const reason = outcome.kind === 'ok' ? '' : outcome.reason;
    const attempts = d.attempts + 1;
    const decision = decide(outcome, attempts, { initialMs: this.config.initialBackoff, maxMs: this.config.maxBackoff, maxAttempts: this.config.maxAttempts, canSplit: false, ...(this.deps.random ? { random: this.deps.random } : {}) });
    this.counter(route.output)(decision.counted);
    switch (decision.action) {
      case 'done':
        await queue.delivered(d.id, now);
        this.deps.observe?.(route, 'delivered');
        link.up(fields);
        return;
      case 'wait':
        await queue.failed(d.id, reason, now + decision.ms, { countAttempt: decision.countAttempt });
        this.deps.observe?.(route, 'retry');
        // The target's credentials or address are wrong, not the item: say once what to check (the
        // link logs the outage once and its recovery once).
        link.down(outcome.kind === 'auth' ? `${reason} (${route.authHint ?? 'check the address and credentials'}; deliveries are kept)` : reason, fields);
        return;
      case 'split':
      case 'dead': {
        await queue.failed(d.id, reason, null);
        this.deps.observe?.(route, 'dead');
        link.down(reason, fields);
        log.warn({ ...fields, delivery: d.id, event: d.eventId, key: d.key, attempts, error: reason }, 'delivery dead-lettered');
        return;
      }
    }
  }

  private link(target: string, route: Route): TransitionLog {
    let t = this.links.get(target);
    if (!t) this.links.set(target, (t = new TransitionLog(this.deps.log, this.deps.clock, route.label)));
    return t;
  }

  private counter(output: string): (o: DeliveryOutcomeKind) => void {
    let c = this.counters.get(output);
    if (!c) this.counters.set(output, (c = deliveryAttempts(this.deps.registry, output)));
    return c;
  }
}
