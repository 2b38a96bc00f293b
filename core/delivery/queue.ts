import { type Db, Where, migrate } from '../runtime/index.ts';

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

export const DELIVERY_MIGRATIONS = [
  {
    id: 'delivery/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS delivery (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, key TEXT NOT NULL,
        event_id INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER);
      CREATE INDEX IF NOT EXISTS delivery_queue ON delivery (target, key, id) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS delivery_due ON delivery (next_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS delivery_dead ON delivery (id) WHERE status = 'dead';
      CREATE INDEX IF NOT EXISTS delivery_done ON delivery (delivered_at) WHERE status = 'delivered';`,
  },
];

/**
 * The durable queue every event output shares (webhook subscriptions, and the ticket destinations of
 * the config): one table in the server's database. An item is written in the same transaction as the
 * change it reports, so no change goes unreported, and it stays until its target took it or it was
 * dead-lettered (visible, replayable), so neither a crash nor an outage loses it.
 */
export class DeliveryQueue {
  private readonly stmts;

  constructor(private readonly db: Db) {
    migrate(db, DELIVERY_MIGRATIONS);
    this.stmts = {
      enqueue: db.prepare(`INSERT INTO delivery (target, key, event_id, type, payload, status, attempts, next_at, created_at)
        VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`),
      // The oldest pending item of each (target, key): later ones wait their turn, so a target sees a
      // ticket's events in the order they happened.
      heads: db.prepare(`SELECT d.* FROM (SELECT MIN(id) AS id FROM delivery WHERE status = 'pending' GROUP BY target, key) h
        JOIN delivery d ON d.id = h.id WHERE d.next_at <= ? ORDER BY d.id LIMIT ?`),
      nextDue: db.prepare("SELECT MIN(next_at) AS at FROM delivery WHERE status = 'pending'"),
      delivered: db.prepare("UPDATE delivery SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?"),
      dead: db.prepare("UPDATE delivery SET status = 'dead', attempts = attempts + ?, last_error = ? WHERE id = ?"),
      retry: db.prepare('UPDATE delivery SET attempts = attempts + ?, last_error = ?, next_at = ? WHERE id = ?'),
      get: db.prepare('SELECT * FROM delivery WHERE id = ?'),
    };
  }

  enqueue(item: { target: string; key: string; eventId: number; type: string; payload: string }, now: number): number {
    return Number(this.stmts.enqueue.run(item.target, item.key, item.eventId, item.type, item.payload, now, now).lastInsertRowid);
  }

  heads(now: number, limit: number): Queued[] {
    return (this.stmts.heads.all(now, limit) as Row[]).map(toQueued);
  }

  get(id: number): Queued | undefined {
    const r = this.stmts.get.get(id) as Row | undefined;
    return r && toQueued(r);
  }

  nextDue(): number | undefined {
    return (this.stmts.nextDue.get() as { at: number | null }).at ?? undefined;
  }

  delivered(id: number, at: number): void {
    this.stmts.delivered.run(at, id);
  }

  /**
   * An attempt failed: dead-letter it (`retryAt` null) or try again at `retryAt`. An attempt refused for
   * the target's credentials or address does not count towards the attempts (`countAttempt: false`):
   * the item is fine, and it waits until the target is fixed.
   */
  failed(id: number, error: string, retryAt: number | null, opts: { countAttempt?: boolean } = {}): void {
    const inc = opts.countAttempt === false ? 0 : 1;
    if (retryAt === null) this.stmts.dead.run(inc, error, id);
    else this.stmts.retry.run(inc, error, retryAt, id);
  }

  /** Dead-letters everything pending for a target that is gone, so it stays visible. */
  abandon(target: string, reason: string): number {
    return this.db.prepare("UPDATE delivery SET status = 'dead', last_error = ? WHERE target = ? AND status = 'pending'").run(reason, target).changes;
  }

  list(q: { status?: QueuedStatus | undefined; target?: string | undefined; targetPrefix?: string | undefined; limit: number; offset: number }): { items: Queued[]; total: number } {
    const w = new Where()
      .add('status = ?', [q.status ?? ''], !!q.status)
      .add('target = ?', [q.target ?? ''], q.target !== undefined)
      .add('substr(target, 1, ?) = ?', [q.targetPrefix?.length ?? 0, q.targetPrefix ?? ''], q.targetPrefix !== undefined);
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM delivery ${w}`).get(...w.args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM delivery ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...w.args, q.limit, q.offset) as Row[];
    return { items: rows.map(toQueued), total };
  }

  /** Puts a dead letter back with fresh attempts (only when `canReplay` agrees); it keeps its idempotency key. */
  replay(id: number, now: number, canReplay: (target: string) => boolean = () => true): boolean {
    const item = this.get(id);
    if (!item || item.status !== 'dead' || !canReplay(item.target)) return false;
    return this.db.prepare("UPDATE delivery SET status = 'pending', attempts = 0, next_at = ?, last_error = NULL WHERE id = ? AND status = 'dead'").run(now, id).changes > 0;
  }

  /** Pending and dead items (both on partial indexes, so this stays cheap however long the log). */
  counts(targetPrefix?: string): { pending: number; dead: number; oldestPendingAt: number | null } {
    const w = targetPrefix === undefined ? '' : ' AND substr(target, 1, ?) = ?';
    const args = targetPrefix === undefined ? [] : [targetPrefix.length, targetPrefix];
    const p = this.db.prepare(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM delivery WHERE status = 'pending'${w}`).get(...args) as { n: number; oldest: number | null };
    const d = this.db.prepare(`SELECT COUNT(*) AS n FROM delivery WHERE status = 'dead'${w}`).get(...args) as { n: number };
    return { pending: p.n, dead: d.n, oldestPendingAt: p.oldest };
  }

  /** Pending items per target, for the queue gauge. */
  pendingByTarget(): Map<string, number> {
    const rows = this.db.prepare("SELECT target, COUNT(*) AS n FROM delivery WHERE status = 'pending' GROUP BY target").all() as { target: string; n: number }[];
    const out = new Map<string, number>();
    for (const r of rows) out.set(r.target, r.n);
    return out;
  }

  /** Forgets delivered items older than `before`; pending and dead ones stay until handled. */
  prune(before: number): number {
    return this.db.prepare("DELETE FROM delivery WHERE status = 'delivered' AND delivered_at < ?").run(before).changes;
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
