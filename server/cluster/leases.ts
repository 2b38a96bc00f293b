import { type Migration, type Sql, SHARD_COUNT, migrateStore } from '../../core/index.ts';

export const CLUSTER_MIGRATIONS: Migration[] = [
  {
    id: 'cluster/001-leases',
    sqlite: `CREATE TABLE IF NOT EXISTS cluster_member (
      id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at INTEGER NOT NULL, seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS shard_lease (
      shard INTEGER PRIMARY KEY, owner TEXT NOT NULL, epoch INTEGER NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS shard_handover (
      id INTEGER PRIMARY KEY AUTOINCREMENT, shard INTEGER NOT NULL, from_owner TEXT, to_owner TEXT NOT NULL, epoch INTEGER NOT NULL, at INTEGER NOT NULL);`,
    postgres: `CREATE TABLE IF NOT EXISTS cluster_member (
      id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, started_at BIGINT NOT NULL, seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS shard_lease (
      shard INTEGER PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL, acquired_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS shard_handover (
      id BIGSERIAL PRIMARY KEY, shard INTEGER NOT NULL, from_owner TEXT, to_owner TEXT NOT NULL, epoch BIGINT NOT NULL, at BIGINT NOT NULL);`,
  },
  {
    // Each member's intake lag per shard it holds (JSON {shard: ms}), written with its membership.
    id: 'cluster/003-member-lag',
    sqlite: 'ALTER TABLE cluster_member ADD COLUMN lag TEXT',
    postgres: 'ALTER TABLE cluster_member ADD COLUMN IF NOT EXISTS lag TEXT',
  },
  {
    // Where each member's API answers, so the others can ask it for what only it holds in memory.
    id: 'cluster/004-member-api-url',
    sqlite: 'ALTER TABLE cluster_member ADD COLUMN api_url TEXT',
    postgres: 'ALTER TABLE cluster_member ADD COLUMN IF NOT EXISTS api_url TEXT',
  },
];

/** A write for a shard was refused: this member no longer holds the shard's lease. */
export class LeaseLost extends Error {
  constructor(readonly shard: number) {
    super(`shard ${shard} is no longer held here; nothing was written for it`);
    this.name = 'LeaseLost';
  }
}

/** A shard this member holds: `epoch` grows by one with every change of owner, so a write can be fenced on it. */
export interface HeldShard {
  shard: number;
  epoch: number;
}

export interface LeaseEvents {
  /** This member now holds `shard` (resume its state, subscribe to its topics). */
  acquired?(s: HeldShard & { from: string | null }): Promise<void> | void;
  /**
   * This member is about to give `shard` up to balance the cluster: save its state now. Awaited before
   * the lease is freed, so the next owner finds the state written.
   */
  releasing?(s: HeldShard): Promise<void> | void;
  /** The lease ran out and another member took it, or was freed: stop acting on `shard` at once. */
  lost?(s: HeldShard): Promise<void> | void;
}

export interface LeaseOptions {
  /** This process, unique in the cluster, and where its API answers (once it listens). */
  member: { id: string; host: string; pid: number; apiUrl?: () => string | undefined };
  /** How long a lease and a membership last without renewal: the failover time (`shards.failoverAfter`). */
  ttlMs: number;
  /** The shards to share out; all 64 by default. */
  shards?: readonly number[];
  /**
   * The time leases are judged by. By default the database's own clock on PostgreSQL (servers' clocks
   * may disagree, the database's is one), and `clock` on SQLite, where every member shares one machine.
   */
  now?: () => Promise<number>;
  clock?: { now(): number };
  /** This member's intake lag per shard (ms), published with each round for `view()`. */
  lag?: () => ReadonlyMap<number, { lagMs: number }>;
}

export interface MemberView {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  seenAt: number;
  alive: boolean;
  shards: number[];
  /** Where its API answers (null until it listens, or from a member that never said). */
  apiUrl: string | null;
  /** Per shard it holds: how old the last Envelope it took was when taken (ms), as of its last round. */
  lagMs: Record<string, number>;
}

export interface ClusterView {
  at: number;
  members: MemberView[];
  /** Shards without a live lease (nobody owns them right now). */
  unowned: number[];
  handovers: { shard: number; from: string | null; to: string; epoch: number; at: number }[];
}

/**
 * Shard ownership through leases in the store. Every member calls {@link round} about three times per
 * lease time: it renews what it holds, counts the live members, gives up what it holds beyond its fair
 * share (after `releasing`), and takes free or expired shards up to it. One row per shard makes the
 * owner unique: a take is one conditional upsert that only succeeds on a lease that has run out, so two
 * members racing for a shard cannot both win.
 */
export class ShardLeases {
  private readonly held = new Map<number, number>();
  private readonly shards: readonly number[];
  private readonly now: () => Promise<number>;

  private constructor(
    private readonly sql: Sql,
    private readonly opts: LeaseOptions,
    private readonly events: LeaseEvents,
  ) {
    this.shards = opts.shards ?? Array.from({ length: SHARD_COUNT }, (_, i) => i);
    const clock = opts.clock ?? { now: () => Date.now() };
    this.now =
      opts.now ??
      (sql.dialect === 'postgres'
        ? async () => Number((await sql.get<{ now: string | number }>('SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now'))!.now)
        : async () => clock.now());
  }

  static async open(sql: Sql, opts: LeaseOptions, events: LeaseEvents = {}): Promise<ShardLeases> {
    await migrateStore(sql, CLUSTER_MIGRATIONS);
    return new ShardLeases(sql, opts, events);
  }

  /** The shards this member holds, by number, with their epochs. */
  holding(): HeldShard[] {
    return [...this.held].map(([shard, epoch]) => ({ shard, epoch })).sort((a, b) => a.shard - b.shard);
  }

  /** The API URLs of the other live members, for questions only they can answer. */
  async peers(): Promise<string[]> {
    const now = await this.now();
    const rows = await this.sql.all<{ api_url: string | null }>('SELECT api_url FROM cluster_member WHERE expires_at > ? AND id <> ? ORDER BY id', [now, this.opts.member.id]);
    return rows.map((r) => r.api_url).filter((u): u is string => typeof u === 'string' && /^https?:\/\//.test(u));
  }

  holds(shard: number): boolean {
    return this.held.has(shard);
  }

  /** One round of renew, balance and take. Returns what this member holds afterwards. */
  async round(): Promise<HeldShard[]> {
    const { member, ttlMs } = this.opts;
    const now = await this.now();
    const until = now + ttlMs;
    const lag: Record<string, number> = {};
    const lags = this.opts.lag?.();
    for (const shard of this.held.keys()) {
      const l = lags?.get(shard);
      if (l) lag[shard] = l.lagMs;
    }
    await this.sql.run(
      `INSERT INTO cluster_member (id, host, pid, started_at, seen_at, expires_at, lag, api_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, seen_at = excluded.seen_at, expires_at = excluded.expires_at, lag = excluded.lag, api_url = excluded.api_url`,
      [member.id, member.host, member.pid, now, now, until, JSON.stringify(lag), member.apiUrl?.() ?? null],
    );
    // Renew only leases still in force: one that ran out may already be another member's.
    await this.sql.run('UPDATE shard_lease SET expires_at = ? WHERE owner = ? AND expires_at > ?', [until, member.id, now]);
    const mine = await this.sql.all<{ shard: number; epoch: number | string }>('SELECT shard, epoch FROM shard_lease WHERE owner = ? AND expires_at > ?', [member.id, now]);
    const still = new Map(mine.map((r) => [Number(r.shard), Number(r.epoch)]));
    for (const [shard, epoch] of [...this.held]) {
      if (still.get(shard) === epoch) continue;
      this.held.delete(shard);
      await this.events.lost?.({ shard, epoch });
    }
    // Leases in force that this member does not act on (it stopped after losing the store for a while,
    // or restarted under the same id): it takes them up again.
    for (const [shard, epoch] of still) {
      if (this.held.has(shard)) continue;
      this.held.set(shard, epoch);
      await this.events.acquired?.({ shard, epoch, from: member.id });
    }

    const live = await this.sql.all<{ id: string }>('SELECT id FROM cluster_member WHERE expires_at > ? ORDER BY id', [now]);
    const ids = live.map((r) => r.id);
    const fair = fairShare(this.shards.length, ids, member.id);

    // Over the fair share (a member joined): give up the shards that were taken last, after saving them.
    if (this.held.size > fair) {
      const extra = [...this.held].sort((a, b) => b[0] - a[0]).slice(0, this.held.size - fair);
      for (const [shard, epoch] of extra) {
        await this.events.releasing?.({ shard, epoch });
        this.held.delete(shard);
        await this.sql.run('UPDATE shard_lease SET expires_at = 0 WHERE shard = ? AND owner = ? AND epoch = ?', [shard, member.id, epoch]);
      }
    }

    if (this.held.size < fair) {
      // Start from a different place per member so that members joining together mostly try different shards.
      const start = ids.indexOf(member.id) * Math.floor(this.shards.length / Math.max(1, ids.length));
      for (let k = 0; k < this.shards.length && this.held.size < fair; k++) {
        const shard = this.shards[(start + k) % this.shards.length]!;
        if (this.held.has(shard)) continue;
        const before = await this.sql.get<{ owner: string; epoch: number | string; expires_at: number | string }>('SELECT owner, epoch, expires_at FROM shard_lease WHERE shard = ?', [shard]);
        if (before && Number(before.expires_at) > now) continue;
        const took = await this.sql.run(
          `INSERT INTO shard_lease (shard, owner, epoch, acquired_at, expires_at) VALUES (?, ?, 1, ?, ?)
           ON CONFLICT (shard) DO UPDATE SET owner = excluded.owner, epoch = shard_lease.epoch + 1, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
           WHERE shard_lease.expires_at <= ?`,
          [shard, member.id, now, until, now],
        );
        if (took.changes !== 1) continue;
        const row = await this.sql.get<{ epoch: number | string }>('SELECT epoch FROM shard_lease WHERE shard = ? AND owner = ?', [shard, member.id]);
        if (!row) continue;
        const epoch = Number(row.epoch);
        const from = before?.owner ?? null;
        await this.sql.run('INSERT INTO shard_handover (shard, from_owner, to_owner, epoch, at) VALUES (?, ?, ?, ?, ?)', [shard, from, member.id, epoch, now]);
        this.held.set(shard, epoch);
        await this.events.acquired?.({ shard, epoch, from });
      }
    }
    return this.holding();
  }

  /**
   * A check for a write that only the shard's owner may make (its rule state): run inside the write's
   * transaction, it throws {@link LeaseLost} unless this member still holds the shard at `epoch`.
   */
  guard(shard: number, epoch: number): () => Promise<void> {
    return async () => {
      const now = await this.now();
      // FOR SHARE holds the lease row until the write commits: a takeover waits for it, so the next owner
      // reads the state this write leaves, never one from before it.
      const lock = this.sql.dialect === 'postgres' && this.sql.inTx() ? ' FOR SHARE' : '';
      const held = await this.sql.get(`SELECT 1 AS ok FROM shard_lease WHERE shard = ? AND owner = ? AND epoch = ? AND expires_at > ?${lock}`, [shard, this.opts.member.id, epoch, now]);
      if (!held) throw new LeaseLost(shard);
    };
  }

  /** Stops acting on every shard without telling the store (it cannot be reached); a later round takes up those still in force. */
  forgetAll(): void {
    this.held.clear();
  }

  /** Leaves the cluster: saves (`releasing`) and frees every shard, so the others take them at their next round. */
  async leave(): Promise<void> {
    const { member } = this.opts;
    for (const [shard, epoch] of [...this.held]) {
      await this.events.releasing?.({ shard, epoch });
      this.held.delete(shard);
      await this.sql.run('UPDATE shard_lease SET expires_at = 0 WHERE shard = ? AND owner = ? AND epoch = ?', [shard, member.id, epoch]);
    }
    await this.sql.run('UPDATE cluster_member SET expires_at = 0 WHERE id = ?', [member.id]);
  }

  /** Members, who owns what, and the latest handovers: what `/api/v1/cluster` shows. */
  async view(handovers = 20): Promise<ClusterView> {
    const now = await this.now();
    const members = await this.sql.all<{ id: string; host: string; pid: number | string; started_at: number | string; seen_at: number | string; expires_at: number | string; lag: string | null; api_url: string | null }>(
      'SELECT id, host, pid, started_at, seen_at, expires_at, lag, api_url FROM cluster_member ORDER BY id',
    );
    const leases = await this.sql.all<{ shard: number; owner: string }>('SELECT shard, owner FROM shard_lease WHERE expires_at > ? ORDER BY shard', [now]);
    const owned = new Set(leases.map((l) => Number(l.shard)));
    const recent = await this.sql.all<{ shard: number; from_owner: string | null; to_owner: string; epoch: number | string; at: number | string }>(
      'SELECT shard, from_owner, to_owner, epoch, at FROM shard_handover ORDER BY id DESC LIMIT ?',
      [handovers],
    );
    return {
      at: now,
      members: members.map((m) => ({
        id: m.id,
        host: m.host,
        pid: Number(m.pid),
        startedAt: Number(m.started_at),
        seenAt: Number(m.seen_at),
        alive: Number(m.expires_at) > now,
        shards: leases.filter((l) => l.owner === m.id).map((l) => Number(l.shard)),
        apiUrl: m.api_url,
        lagMs: lagOf(m.lag, leases.filter((l) => l.owner === m.id).map((l) => Number(l.shard))),
      })),
      unowned: this.shards.filter((s) => !owned.has(s)),
      handovers: recent.map((h) => ({ shard: Number(h.shard), from: h.from_owner, to: h.to_owner, epoch: Number(h.epoch), at: Number(h.at) })),
    };
  }
}

/** A member's published lag, for the shards it holds now (a stored value that is not a lag map is none). */
function lagOf(json: string | null, shards: number[]): Record<string, number> {
  let all: unknown;
  try {
    all = json ? JSON.parse(json) : {};
  } catch {
    return {};
  }
  const out: Record<string, number> = {};
  if (typeof all !== 'object' || all === null) return out;
  for (const s of shards) {
    const v = (all as Record<string, unknown>)[s];
    if (typeof v === 'number' && Number.isFinite(v)) out[s] = v;
  }
  return out;
}

/**
 * How many of `total` shards member `id` should hold among the live members `ids` (sorted): an even
 * split, the first members in order taking one more when it does not divide.
 */
export function fairShare(total: number, ids: readonly string[], id: string): number {
  const n = Math.max(1, ids.length);
  const i = Math.max(0, ids.indexOf(id));
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}
