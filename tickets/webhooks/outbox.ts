import { DeliveryQueue, type Queued, type SecretBox, type Sql, type WebhookEventType, migrateStore } from '../../core/index.ts';
import { wantsType } from '../destinations/filter.ts';

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
  /** `vigil`: the event as it is; `cloudevents`: a CloudEvents 1.0 structured event around it. */
  format: 'vigil' | 'cloudevents';
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

/** A subscription's deliveries go to the queue target `webhook:<subscription id>`. */
const TARGET = 'webhook:';

/**
 * Webhook subscriptions, and their deliveries on the shared delivery queue (`core/delivery`), under the
 * target `webhook:<subscription id>` and the ticket as the ordering key. A delivery is written in the
 * same transaction as the ticket change it reports and stays until the receiver took it (or it is
 * dead-lettered), so neither a crash nor an outage loses it.
 */
export class WebhookOutbox {
  /**
   * `box` seals the subscriptions' secrets at rest (they must be read back to sign, so they cannot be
   * hashed); without one they are kept as given (unit tests).
   */
  private constructor(
    private readonly sql: Sql,
    readonly queue: DeliveryQueue,
    private readonly box?: SecretBox,
  ) {}

  static async open(sql: Sql, box?: SecretBox): Promise<WebhookOutbox> {
    const queue = await DeliveryQueue.open(sql);
    await migrateStore(sql, [
      // As the release before the shared queue applied it, never edited (002 moves its deliveries out).
      { id: 'webhooks/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS webhook_subscription (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, events TEXT NOT NULL,
        secret TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, active INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS webhook_delivery (id INTEGER PRIMARY KEY AUTOINCREMENT, subscription_id INTEGER NOT NULL, event_id INTEGER NOT NULL,
        ticket_id INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER);
      CREATE INDEX IF NOT EXISTS webhook_delivery_queue ON webhook_delivery (subscription_id, ticket_id, id) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS webhook_delivery_due ON webhook_delivery (next_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS webhook_delivery_dead ON webhook_delivery (id) WHERE status = 'dead';
      CREATE INDEX IF NOT EXISTS webhook_delivery_done ON webhook_delivery (delivered_at) WHERE status = 'delivered';
      CREATE TABLE IF NOT EXISTS webhook_inbound (subscription_id INTEGER NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (subscription_id, key)) WITHOUT ROWID;`,
        // PostgreSQL starts where SQLite is after 002: deliveries live in the shared queue.
        postgres: `CREATE TABLE webhook_subscription (id BIGSERIAL PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL,
        secret TEXT NOT NULL, description TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, active INTEGER NOT NULL);
      CREATE TABLE webhook_inbound (subscription_id BIGINT NOT NULL, key TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (subscription_id, key));` },
      // Deliveries move to the queue every output shares, keeping their ids (the API and the
      // `vigil-delivery` header name them) and their idempotency keys.
      { id: 'webhooks/002-shared-queue', sqlite: `INSERT INTO delivery (id, target, key, event_id, type, payload, status, attempts, next_at, last_error, created_at, delivered_at)
          SELECT id, 'webhook:' || subscription_id, CAST(ticket_id AS TEXT), event_id, type, payload, status, attempts, next_at, last_error, created_at, delivered_at FROM webhook_delivery;
        DROP TABLE webhook_delivery;`, postgres: '' },
      { id: 'webhooks/003-format', sqlite: "ALTER TABLE webhook_subscription ADD COLUMN format TEXT NOT NULL DEFAULT 'vigil'", postgres: "ALTER TABLE webhook_subscription ADD COLUMN format TEXT NOT NULL DEFAULT 'vigil'" },
    ]);
    return new WebhookOutbox(sql, queue, box);
  }

  async createSubscription(sub: Omit<Subscription, 'id' | 'active' | 'format'> & { format?: Subscription['format'] }): Promise<Subscription> {
    const s = { ...sub, format: sub.format ?? 'vigil' };
    const r = await this.sql.get<{ id: number }>(
      'INSERT INTO webhook_subscription (url, events, secret, description, created_at, created_by, active, format) VALUES (?, ?, ?, ?, ?, ?, 1, ?) RETURNING id',
      [s.url, JSON.stringify(s.events), this.box ? this.box.seal(s.secret) : s.secret, s.description, s.createdAt, s.createdBy, s.format],
    );
    return { ...s, id: r!.id, active: true };
  }

  async subscription(id: number): Promise<Subscription | undefined> {
    const r = await this.sql.get<SubRow>('SELECT * FROM webhook_subscription WHERE id = ?', [id]);
    return r && this.toSub(r);
  }

  async subscriptions(): Promise<Subscription[]> {
    return (await this.sql.all<SubRow>('SELECT * FROM webhook_subscription WHERE active = 1 ORDER BY id')).map((r) => this.toSub(r));
  }

  /**
   * Seals every stored secret with the box's current key: those kept in plain text by an older
   * version, and those sealed with a previous key (a rotation). Returns how many changed.
   */
  async reseal(): Promise<number> {
    const box = this.box;
    if (!box) return 0;
    return this.sql.tx(async () => {
      const rows = await this.sql.all<{ id: number; secret: string }>('SELECT id, secret FROM webhook_subscription');
      let n = 0;
      for (const r of rows) {
        if (!box.stale(r.secret)) continue;
        await this.sql.run('UPDATE webhook_subscription SET secret = ? WHERE id = ?', [box.seal(box.open(r.secret)), r.id]);
        n++;
      }
      return n;
    });
  }

  private toSub(r: SubRow): Subscription {
    return { ...toSub(r), secret: this.box ? this.box.open(r.secret) : r.secret };
  }

  /** Stops deliveries to it; what is pending for it is dead-lettered so it stays visible. */
  async deleteSubscription(id: number): Promise<boolean> {
    return this.sql.tx(async () => {
      const n = (await this.sql.run('UPDATE webhook_subscription SET active = 0 WHERE id = ? AND active = 1', [id])).changes;
      if (n > 0) await this.queue.abandon(`${TARGET}${id}`, 'subscription deleted');
      return n > 0;
    });
  }

  /** Queues one event for every subscription that wants it; call inside the ticket change's transaction. */
  async enqueue(ev: { id: number; type: WebhookEventType; ticketId: number }, payload: string, now: number): Promise<number> {
    let n = 0;
    for (const s of await this.sql.all<{ id: number; events: string }>('SELECT id, events FROM webhook_subscription WHERE active = 1 ORDER BY id')) {
      if (!wantsType(JSON.parse(s.events) as Subscription['events'], ev.type)) continue;
      await this.queue.enqueue({ target: `${TARGET}${s.id}`, key: String(ev.ticketId), eventId: ev.id, type: ev.type, payload }, now);
      n++;
    }
    return n;
  }

  async deliveries(q: { status?: DeliveryStatus | undefined; subscriptionId?: number | undefined; limit: number; offset: number }): Promise<{ deliveries: Omit<Delivery, 'payload'>[]; total: number }> {
    const { items, total } = await this.queue.list({ status: q.status, ...(q.subscriptionId !== undefined ? { target: `${TARGET}${q.subscriptionId}` } : { targetPrefix: TARGET }), limit: q.limit, offset: q.offset });
    return { deliveries: items.map(({ payload: _, ...d }) => toDelivery(d)), total };
  }

  /** Puts a dead letter of an active subscription back in the queue with fresh attempts; it keeps its idempotency key. */
  async replay(id: number, now: number): Promise<boolean> {
    const item = await this.queue.get(id);
    const sub = item && subscriptionOf(item.target);
    const active = sub !== undefined && (await this.subscription(sub))?.active === true;
    return this.queue.replay(id, now, (target) => active && target === item?.target);
  }

  /** Pending and dead deliveries of the subscriptions. */
  counts(): Promise<{ pending: number; dead: number; oldestPendingAt: number | null }> {
    return this.queue.counts(TARGET);
  }

  /**
   * Remembers an inbound update by its key; false when it was already taken, so a resent (or replayed)
   * request changes nothing twice. Keys older than a day are forgotten, well past the signature window.
   */
  async takeInbound(subscriptionId: number, key: string, now: number): Promise<boolean> {
    await this.sql.run('DELETE FROM webhook_inbound WHERE at < ?', [now - 86_400_000]);
    return (await this.sql.run('INSERT INTO webhook_inbound (subscription_id, key, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [subscriptionId, key, now])).changes > 0;
  }

  /** A refused update may be corrected and sent again under the same key. */
  async forgetInbound(subscriptionId: number, key: string): Promise<void> {
    await this.sql.run('DELETE FROM webhook_inbound WHERE subscription_id = ? AND key = ?', [subscriptionId, key]);
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
  format: Subscription['format'];
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
  format: r.format,
});

/** The subscription id of a queue target, when it is one. */
export function subscriptionOf(target: string): number | undefined {
  return target.startsWith(TARGET) ? Number(target.slice(TARGET.length)) : undefined;
}

const toDelivery = (d: Omit<Queued, 'payload'>): Omit<Delivery, 'payload'> => ({
  id: d.id,
  subscriptionId: subscriptionOf(d.target) ?? 0,
  eventId: d.eventId,
  ticketId: Number(d.key),
  type: d.type as WebhookEventType,
  status: d.status,
  attempts: d.attempts,
  nextAt: d.nextAt,
  lastError: d.lastError,
  createdAt: d.createdAt,
  deliveredAt: d.deliveredAt,
});
