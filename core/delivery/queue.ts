import { type Migration, Where } from '../runtime/index.ts';
import { type Sql, migrateStore } from '../store/index.ts';

export type QueuedStatus = 'pending' | 'delivered' | 'dead';

/** One item of the durable delivery queue: an event for one target, in its key's order. */
export interface Queued {
  id: number;
  /** Who it goes to: `webhook:<subscription id>` or `destination:<name>`. */
  target: string;
  /** Items of one (target, key) are delivered one at a time, oldest first (a ticket's events). */
  key: string;
  /** The event's own id: the idempotency key stays the same across retries, replays and restarts. */
  eventId: number;
  type: string;
  payload: string;
  status: QueuedStatus;
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export const DELIVERY_MIGRATIONS: Migration[] = [
  {
    id: 'delivery/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS delivery (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, key TEXT NOT NULL,
        event_id INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER);
      CREATE INDEX IF NOT EXISTS delivery_queue ON delivery (target, key, id) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS delivery_due ON delivery (next_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS delivery_dead ON delivery (id) WHERE status = 'dead';
      CREATE INDEX IF NOT EXISTS delivery_done ON delivery (delivered_at) WHERE status = 'delivered';`,
    postgres: `CREATE TABLE delivery (id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, key TEXT NOT NULL,
        event_id BIGINT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_at BIGINT NOT NULL, last_error TEXT, created_at BIGINT NOT NULL, delivered_at BIGINT);
      CREATE INDEX delivery_queue ON delivery (target, key, id) WHERE status = 'pending';
      CREATE INDEX delivery_due ON delivery (next_at) WHERE status = 'pending';
      CREATE INDEX delivery_dead ON delivery (id) WHERE status = 'dead';
      CREATE INDEX delivery_done ON delivery (delivered_at) WHERE status = 'delivered';`,
  },
  {
    // Which server is delivering an item, until when: on a shared store each item goes out from one.
    id: 'delivery/002-claims',
    sqlite: 'ALTER TABLE delivery ADD COLUMN claimed_by TEXT; ALTER TABLE delivery ADD COLUMN claimed_until INTEGER',
    postgres: 'ALTER TABLE delivery ADD COLUMN claimed_by TEXT; ALTER TABLE delivery ADD COLUMN claimed_until BIGINT',
  },
];

/**
 * The durable queue every event output shares (webhook subscriptions, and the ticket destinations of
 * the config): one table in the server's store. An item is written in the same transaction as the
 * change it reports, so no change goes unreported, and it stays until its target took it or it was
 * dead-lettered (visible, replayable), so neither a crash nor an outage loses it.
 *
 * On a store shared by several servers an item is claimed before it is sent: one server takes it for
 * a lease (longer than an attempt may last), and another may take it only after the lease ran out
 * (its server died mid-attempt). A chain's next item is due only once the one before it is done, so a
 * ticket's events reach a target in order whichever server sends them.
 */
export class DeliveryQueue {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<DeliveryQueue> {
    await migrateStore(sql, DELIVERY_MIGRATIONS);
    return new DeliveryQueue(sql);
  }

  async enqueue(item: { target: string; key: string; eventId: number; type: string; payload: string }, now: number): Promise<number> {
    const r = await this.sql.get<{ id: number }>(
      `INSERT INTO delivery (target, key, event_id, type, payload, status, attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING id`,
      [item.target, item.key, item.eventId, item.type, item.payload, now, now],
    );
    return r!.id;
  }

  /**
   * Takes up to `limit` due heads of their (target, key) chains for `owner` until `until`. PostgreSQL
   * skips rows another server is claiming this instant (SKIP LOCKED) instead of waiting on them.
   */
  async claim(now: number, limit: number, owner: string, until: number): Promise<Queued[]> {
    if (this.sql.dialect === 'sqlite') {
      // One server per file: the oldest pending item of each chain, found through the partial index.
      const rows = await this.sql.all<Row>(
        `SELECT d.* FROM (SELECT MIN(id) AS id FROM delivery WHERE status = 'pending' GROUP BY target, key) h
          JOIN delivery d ON d.id = h.id WHERE d.next_at <= ? ORDER BY d.id LIMIT ?`,
        [now, limit],
      );
      return rows.map(toQueued);
    }
    const rows = await this.sql.all<Row>(
      `UPDATE delivery SET claimed_by = ?, claimed_until = ? WHERE id IN (
        SELECT d.id FROM delivery d WHERE d.status = 'pending' AND d.next_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?)
          AND NOT EXISTS (SELECT 1 FROM delivery e WHERE e.status = 'pending' AND e.target = d.target AND e.key = d.key AND e.id < d.id)
        ORDER BY d.id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING *`,
      [owner, until, now, now, limit],
    );
    return rows.map(toQueued).sort((a, b) => a.id - b.id);
  }

  async get(id: number): Promise<Queued | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM delivery WHERE id = ?', [id]);
    return r && toQueued(r);
  }

  /** When the next pending item is due (claimed ones count: their lease may run out). */
  async nextDue(): Promise<number | undefined> {
    const r = await this.sql.get<{ at: number | null }>("SELECT MIN(next_at) AS at FROM delivery WHERE status = 'pending'");
    return r?.at ?? undefined;
  }

  async delivered(id: number, at: number): Promise<void> {
    await this.sql.run("UPDATE delivery SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?", [at, id]);
  }

  /**
   * An attempt failed: dead-letter it (`retryAt` null) or try again at `retryAt`. An attempt refused for
   * the target's credentials or address does not count towards the attempts (`countAttempt: false`):
   * the item is fine, and it waits until the target is fixed.
   */
  async failed(id: number, error: string, retryAt: number | null, opts: { countAttempt?: boolean } = {}): Promise<void> {
    const inc = opts.countAttempt === false ? 0 : 1;
    if (retryAt === null) await this.sql.run("UPDATE delivery SET status = 'dead', attempts = attempts + ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?", [inc, error, id]);
    else await this.sql.run('UPDATE delivery SET attempts = attempts + ?, last_error = ?, next_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?', [inc, error, retryAt, id]);
  }

  /** Gives a claimed item back untouched (the server stops mid-attempt): it is due again at once. */
  async release(id: number): Promise<void> {
    await this.sql.run('UPDATE delivery SET claimed_by = NULL, claimed_until = NULL WHERE id = ?', [id]);
  }

  /** Dead-letters everything pending for a target that is gone, so it stays visible. */
  async abandon(target: string, reason: string): Promise<number> {
    return (await this.sql.run("UPDATE delivery SET status = 'dead', last_error = ? WHERE target = ? AND status = 'pending'", [reason, target])).changes;
  }

  async list(q: { status?: QueuedStatus | undefined; target?: string | undefined; targetPrefix?: string | undefined; limit: number; offset: number }): Promise<{ items: Queued[]; total: number }> {
    const w = new Where()
      .add('status = ?', [q.status ?? ''], !!q.status)
      .add('target = ?', [q.target ?? ''], q.target !== undefined)
      .add('substr(target, 1, ?) = ?', [q.targetPrefix?.length ?? 0, q.targetPrefix ?? ''], q.targetPrefix !== undefined);
    const total = (await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM delivery ${w}`, w.args))!.n;
    const rows = await this.sql.all<Row>(`SELECT * FROM delivery ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, [...w.args, q.limit, q.offset]);
    return { items: rows.map(toQueued), total };
  }

  /** Puts a dead letter back with fresh attempts (only when `canReplay` agrees); it keeps its idempotency key. */
  async replay(id: number, now: number, canReplay: (target: string) => boolean = () => true): Promise<boolean> {
    const item = await this.get(id);
    if (!item || item.status !== 'dead' || !canReplay(item.target)) return false;
    return (await this.sql.run("UPDATE delivery SET status = 'pending', attempts = 0, next_at = ?, last_error = NULL WHERE id = ? AND status = 'dead'", [now, id])).changes > 0;
  }

  /** Pending and dead items (both on partial indexes, so this stays cheap however long the log). */
  async counts(targetPrefix?: string): Promise<{ pending: number; dead: number; oldestPendingAt: number | null }> {
    const w = targetPrefix === undefined ? '' : ' AND substr(target, 1, ?) = ?';
    const args = targetPrefix === undefined ? [] : [targetPrefix.length, targetPrefix];
    const p = (await this.sql.get<{ n: number; oldest: number | null }>(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM delivery WHERE status = 'pending'${w}`, args))!;
    const d = (await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM delivery WHERE status = 'dead'${w}`, args))!;
    return { pending: p.n, dead: d.n, oldestPendingAt: p.oldest };
  }

  /** Pending items per target, for the queue gauge. */
  async pendingByTarget(): Promise<Map<string, number>> {
    const rows = await this.sql.all<{ target: string; n: number }>("SELECT target, COUNT(*) AS n FROM delivery WHERE status = 'pending' GROUP BY target");
    const out = new Map<string, number>();
    for (const r of rows) out.set(r.target, r.n);
    return out;
  }

  /** Forgets delivered items older than `before`; pending and dead ones stay until handled. */
  async prune(before: number): Promise<number> {
    return (await this.sql.run("DELETE FROM delivery WHERE status = 'delivered' AND delivered_at < ?", [before])).changes;
  }
}

interface Row {
  id: number;
  target: string;
  key: string;
  event_id: number;
  type: string;
  payload: string;
  status: QueuedStatus;
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

const toQueued = (r: Row): Queued => ({
  id: r.id,
  target: r.target,
  key: r.key,
  eventId: r.event_id,
  type: r.type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  nextAt: r.next_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});
