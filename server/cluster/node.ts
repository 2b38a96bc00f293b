import type { Logger } from '../../core/index.ts';
import type { HeldShard, ShardLeases } from './leases.ts';
import type { ShardSubscriber } from './shard-subscriber.ts';

/** What the server does with a shard as it comes and goes; each optional. */
export interface ShardHooks {
  /** Before the shard's messages flow: load its rule state (the previous owner saved it). */
  resume?(s: HeldShard): Promise<void> | void;
  /** After its messages stopped, before the lease is freed: save its rule state for the next owner. */
  save?(s: HeldShard): Promise<void> | void;
  /** The shard is no longer this server's: drop what it holds in memory for it. */
  forget?(shard: number): Promise<void> | void;
}

export interface ClusterNodeOptions {
  /** Time between lease rounds; a third of the lease time leaves two rounds to spare. */
  roundEveryMs: number;
  /** The lease time: past it without a successful round, this server's leases may be someone else's. */
  ttlMs: number;
  /** How often every held shard is saved (`save`), so a next owner after a crash resumes recent state. */
  saveEveryMs?: number;
}

/**
 * One server's part in the cluster: lease rounds on a timer, and for each shard it gains or loses, the
 * broker session and the hooks in the right order. A server that cannot reach the store for a whole
 * lease time stops taking messages on its own (its leases may have moved), instead of waiting to be told.
 */
export class ClusterNode {
  readonly name = 'cluster';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setInterval> | undefined;
  private saving = false;
  private lastRound = Date.now();
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    readonly leases: ShardLeases,
    private readonly subscriber: ShardSubscriber,
    private readonly hooks: ShardHooks,
    private readonly opts: ClusterNodeOptions,
    private readonly log: Logger,
  ) {}

  /** The lease events, for {@link ShardLeases.open}. */
  static events(node: () => ClusterNode | undefined): Parameters<typeof ShardLeases.open>[2] {
    return {
      acquired: async (s) => node()?.acquired(s),
      releasing: async (s) => node()?.releasing(s),
      lost: async (s) => node()?.lost(s),
    };
  }

  private async acquired(s: HeldShard & { from: string | null }): Promise<void> {
    await this.hooks.resume?.(s);
    await this.subscriber.take(s.shard);
    this.log.info({ shard: s.shard, epoch: s.epoch, from: s.from }, 'shard taken');
  }

  private async releasing(s: HeldShard): Promise<void> {
    await this.subscriber.release(s.shard);
    await this.hooks.save?.(s);
    await this.hooks.forget?.(s.shard);
    this.log.info({ shard: s.shard, epoch: s.epoch }, 'shard handed back');
  }

  private async lost(s: HeldShard): Promise<void> {
    await this.subscriber.drop(s.shard);
    await this.hooks.forget?.(s.shard);
    this.log.warn({ shard: s.shard, epoch: s.epoch }, 'shard lease lost; stopped taking its messages');
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.lastRound = Date.now();
    await this.round();
    if (this.opts.saveEveryMs && this.hooks.save) this.saveTimer = setInterval(() => void this.saveHeld(), this.opts.saveEveryMs);
  }

  /** Saves every held shard; one that was lost meanwhile is refused by its guard and skipped. */
  private async saveHeld(): Promise<void> {
    if (this.saving) return;
    this.saving = true;
    try {
      for (const s of this.leases.holding()) {
        try {
          await this.hooks.save?.(s);
        } catch (err) {
          this.log.warn({ shard: s.shard, err }, 'shard state not saved');
        }
      }
    } finally {
      this.saving = false;
    }
  }

  private async round(): Promise<void> {
    this.running = (async () => {
      try {
        await this.leases.round();
        this.lastRound = Date.now();
      } catch (err) {
        this.log.error({ err }, 'lease round failed');
        if (Date.now() - this.lastRound >= this.opts.ttlMs) await this.fence();
      }
    })();
    await this.running;
    this.running = undefined;
    if (!this.stopped) this.timer = setTimeout(() => void this.round(), this.opts.roundEveryMs);
  }

  /** Stops taking the messages of every shard at once, without the store: its leases may be gone. */
  private async fence(): Promise<void> {
    const shards = this.subscriber.shards();
    this.leases.forgetAll();
    if (shards.length === 0) return;
    this.log.warn({ shards }, 'no lease round succeeded for a whole lease time; stopping every shard');
    for (const shard of shards) {
      await this.subscriber.drop(shard);
      await this.hooks.forget?.(shard);
    }
  }

  /** Leaves the cluster: every shard saved and handed back at once, for the others to take at their next round. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.saveTimer);
    await this.running;
    try {
      await this.leases.leave();
    } finally {
      await this.subscriber.stop();
    }
  }
}
