import { type Db, type SecretBox, type WebhookEventType, Where, migrate } from '../../core/index.ts';

export interface Subscription {
  id: number;
  url: string;
  /** Event types delivered; `*` for all. */
  events: (WebhookEventType | '*')[];
  secret: string;
  description: string;
  createdAt: number;
  createdBy: string;
  active: boolean;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface Delivery {
  id: number;
  subscriptionId: number;
  eventId: number;
  ticketId: number;
  type: WebhookEventType;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/**
 * Webhook subscriptions and the delivery outbox. A delivery row is written in the same transaction as
 * the ticket change it reports, so no change is ever left unreported, and it stays until the receiver
 * has taken it (or it is dead-lettered), so a crash or an outage loses nothing.
 */
export class WebhookOutbox {
  private readonly stmts;

  /**
   * `box` seals the subscriptions' secrets at rest (they must be read back to sign, so they cannot be
   * hashed); without one they are kept as given (unit tests).
   */
  constructor(
    private readonly db: Db,
    private readonly box?: SecretBox,
  ) {
    migrate(db, [{ id: 'webhooks/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS webhook_subscription (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, events TEXT NOT NULL,
        secret TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, active INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS webhook_delivery (id INTEGER PRIMARY KEY AUTOINCREMENT, subscription_id INTEGER NOT NULL, event_id INTEGER NOT NULL,
        ticket_id INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER);
      CREATE INDEX IF NOT EXISTS webhook_delivery_queue ON webhook_delivery (subscription_id, ticket_id, id) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS webhook_delivery_due ON webhook_delivery (next_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS webhook_delivery_dead ON webhook_delivery (id) WHERE status = 'dead';
      CREATE INDEX IF NOT EXISTS webhook_delivery_done ON webhook_delivery (delivered_at) WHERE status = 'delivered';
      CREATE TABLE IF NOT EXISTS webhook_inbound (subscription_id INTEGER NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (subscription_id, key)) WITHOUT ROWID;` }]);
    this.stmts = {
      enqueue: db.prepare(`INSERT INTO webhook_delivery (subscription_id, event_id, ticket_id, type, payload, status, attempts, next_at, created_at)
        VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`),
      // The oldest pending delivery of each (subscription, ticket): later ones wait their turn, so a
      // receiver sees a ticket's events in the order they happened.
      heads: db.prepare(`SELECT d.* FROM (SELECT MIN(id) AS id FROM webhook_delivery WHERE status = 'pending' GROUP BY subscription_id, ticket_id) h
        JOIN webhook_delivery d ON d.id = h.id WHERE d.next_at <= ? ORDER BY d.id LIMIT ?`),
      nextDue: db.prepare("SELECT MIN(next_at) AS at FROM webhook_delivery WHERE status = 'pending'"),
    };
  }

  createSubscription(s: Omit<Subscription, 'id' | 'active'>): Subscription {
    const info = this.db
      .prepare('INSERT INTO webhook_subscription (url, events, secret, description, created_at, created_by, active) VALUES (?, ?, ?, ?, ?, ?, 1)')
      .run(s.url, JSON.stringify(s.events), this.box ? this.box.seal(s.secret) : s.secret, s.description, s.createdAt, s.createdBy);
    return { ...s, id: Number(info.lastInsertRowid), active: true };
  }

  subscription(id: number): Subscription | undefined {
    const r = this.db.prepare('SELECT * FROM webhook_subscription WHERE id = ?').get(id) as SubRow | undefined;
    return r && this.toSub(r);
  }

  subscriptions(): Subscription[] {
    return (this.db.prepare('SELECT * FROM webhook_subscription WHERE active = 1 ORDER BY id').all() as SubRow[]).map((r) => this.toSub(r));
  }

  /**
   * Seals every stored secret with the box's current key: those kept in plain text by an older
   * version, and those sealed with a previous key (a rotation). Returns how many changed.
   */
  reseal(): number {
    const box = this.box;
    if (!box) return 0;
    const rows = this.db.prepare('SELECT id, secret FROM webhook_subscription').all() as { id: number; secret: string }[];
    const update = this.db.prepare('UPDATE webhook_subscription SET secret = ? WHERE id = ?');
    return this.db.transaction(() => {
      let n = 0;
      for (const r of rows) {
        if (!box.stale(r.secret)) continue;
        update.run(box.seal(box.open(r.secret)), r.id);
        n++;
      }
      return n;
    })();
  }

  private toSub(r: SubRow): Subscription {
    return { ...toSub(r), secret: this.box ? this.box.open(r.secret) : r.secret };
  }

  /** Stops deliveries to it; what is pending for it is dead-lettered so it stays visible. */
  deleteSubscription(id: number): boolean {
    return this.db.transaction(() => {
      const n = this.db.prepare('UPDATE webhook_subscription SET active = 0 WHERE id = ? AND active = 1').run(id).changes;
      if (n > 0) this.db.prepare("UPDATE webhook_delivery SET status = 'dead', last_error = 'subscription deleted' WHERE subscription_id = ? AND status = 'pending'").run(id);
      return n > 0;
    })();
  }

  /** Queues one event for every subscription that wants it; call inside the ticket change's transaction. */
  enqueue(ev: { id: number; type: WebhookEventType; ticketId: number }, payload: string, now: number): number {
    let n = 0;
    for (const s of this.subscriptions()) {
      // `*` is every ticket event; a KPI event goes only to those who named it.
      if (!(s.events.includes('*') && ev.type !== 'kpi.below_target') && !s.events.includes(ev.type)) continue;
      this.stmts.enqueue.run(s.id, ev.id, ev.ticketId, ev.type, payload, now, now);
      n++;
    }
    return n;
  }

  heads(now: number, limit: number): Delivery[] {
    return (this.stmts.heads.all(now, limit) as DeliveryRow[]).map(toDelivery);
  }

  nextDue(): number | undefined {
    return (this.stmts.nextDue.get() as { at: number | null }).at ?? undefined;
  }

  delivered(id: number, at: number): void {
    this.db.prepare("UPDATE webhook_delivery SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?").run(at, id);
  }

  /**
   * An attempt failed: dead-letter it (`retryAt` null) or try again at `retryAt`. An attempt refused for
   * the receiver's credentials or address does not count towards `maxAttempts` (`countAttempt: false`):
   * the event is fine, and it waits until the subscription is fixed.
   */
  failed(id: number, error: string, retryAt: number | null, opts: { countAttempt?: boolean } = {}): void {
    const inc = opts.countAttempt === false ? 0 : 1;
    if (retryAt === null) this.db.prepare("UPDATE webhook_delivery SET status = 'dead', attempts = attempts + ?, last_error = ? WHERE id = ?").run(inc, error, id);
    else this.db.prepare('UPDATE webhook_delivery SET attempts = attempts + ?, last_error = ?, next_at = ? WHERE id = ?').run(inc, error, retryAt, id);
  }

  deliveries(q: { status?: DeliveryStatus | undefined; subscriptionId?: number | undefined; limit: number; offset: number }): { deliveries: Omit<Delivery, 'payload'>[]; total: number } {
    const w = new Where().add('status = ?', [q.status ?? ''], !!q.status).add('subscription_id = ?', [q.subscriptionId ?? 0], q.subscriptionId !== undefined);
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM webhook_delivery ${w}`).get(...w.args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM webhook_delivery ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...w.args, q.limit, q.offset) as DeliveryRow[];
    return { deliveries: rows.map((r) => ({ ...toDelivery(r), payload: undefined }) as Omit<Delivery, 'payload'>), total };
  }

  /** Puts a dead letter back in the queue with fresh attempts; it keeps its idempotency key. */
  replay(id: number, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_at = ?, last_error = NULL WHERE id = ? AND status = 'dead'
           AND subscription_id IN (SELECT id FROM webhook_subscription WHERE active = 1)`,
        )
        .run(now, id).changes > 0
    );
  }

  /** Pending and dead deliveries (both on partial indexes, so this stays cheap however long the log). */
  counts(): { pending: number; dead: number; oldestPendingAt: number | null } {
    const p = this.db.prepare("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_delivery WHERE status = 'pending'").get() as { n: number; oldest: number | null };
    const d = this.db.prepare("SELECT COUNT(*) AS n FROM webhook_delivery WHERE status = 'dead'").get() as { n: number };
    return { pending: p.n, dead: d.n, oldestPendingAt: p.oldest };
  }

  /**
   * Remembers an inbound update by its key; false when it was already taken, so a resent (or replayed)
   * request changes nothing twice. Keys older than a day are forgotten, well past the signature window.
   */
  takeInbound(subscriptionId: number, key: string, now: number): boolean {
    this.db.prepare('DELETE FROM webhook_inbound WHERE at < ?').run(now - 86_400_000);
    return this.db.prepare('INSERT OR IGNORE INTO webhook_inbound (subscription_id, key, at) VALUES (?, ?, ?)').run(subscriptionId, key, now).changes > 0;
  }

  /** A refused update may be corrected and sent again under the same key. */
  forgetInbound(subscriptionId: number, key: string): void {
    this.db.prepare('DELETE FROM webhook_inbound WHERE subscription_id = ? AND key = ?').run(subscriptionId, key);
  }

  /** Forgets delivered rows older than `before`; pending and dead ones stay until handled. */
  prune(before: number): number {
    return this.db.prepare("DELETE FROM webhook_delivery WHERE status = 'delivered' AND delivered_at < ?").run(before).changes;
  }
}

interface SubRow {
  id: number;
  url: string;
  events: string;
  secret: string;
  description: string;
  created_at: number;
  created_by: string;
  active: number;
}
const toSub = (r: SubRow): Subscription => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as Subscription['events'],
  secret: r.secret,
  description: r.description,
  createdAt: r.created_at,
  createdBy: r.created_by,
  active: r.active === 1,
});

interface DeliveryRow {
  id: number;
  subscription_id: number;
  event_id: number;
  ticket_id: number;
  type: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}
const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  eventId: r.event_id,
  ticketId: r.ticket_id,
  type: r.type as WebhookEventType,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  nextAt: r.next_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});
