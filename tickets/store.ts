import { KpiWriter, type KpiTicketRow, weekStart } from './kpis.ts';
import { type Actor, Conflict, type Finding, type Migration, type Outcome, type Param, type Priority, type Sql, TICKET_DEFAULTS, type Ticket, type TicketEvent, type TicketEventType, type TicketStatus, Where, forUpdate, migrateStore, transmittedFrom } from '../core/index.ts';

export interface TicketQuery {
  status?: TicketStatus[] | undefined;
  priority?: Priority[] | undefined;
  site?: string | undefined;
  device?: string | undefined;
  /** Any of these devices (one page of a fleet); an empty list matches nothing. */
  devices?: readonly string[] | undefined;
  slaBreached?: boolean | undefined;
  /** A token's scope: only these sites (an empty set: none). */
  sites?: ReadonlySet<string> | undefined;
  limit: number;
  offset: number;
}

export interface RuleStats {
  ruleId: string;
  tickets: number;
  open: number;
  confirmed: number;
  no_fault_found: number;
  false_alarm: number;
  /** confirmed / (confirmed + false_alarm + no_fault_found); null until a ticket is resolved. */
  precision: number | null;
}

/** How a ticket is grouped in the KPIs, from the policy as it stands when the ticket is saved. */
export interface KpiDimensions {
  region: string;
  customer: string | null;
  equipment: string;
}

/**
 * Tickets, their history and the latest finding of each rule on them, in the server's store (SQLite
 * or PostgreSQL). A partial unique index keeps one ticket per dedupe key that is not closed, whatever
 * the callers do, on one server or many.
 * Each save also writes the ticket's row of `ticket_kpi`: the few numbers the KPIs aggregate, in
 * columns, so a year of a million tickets is one indexed scan, not a million JSON parses.
 */
export class TicketStore {
  private constructor(
    readonly sql: Sql,
    private readonly kpis: KpiWriter,
    private readonly dims: (t: Ticket) => KpiDimensions,
  ) {}

  static async open(sql: Sql, dims: (t: Ticket) => KpiDimensions = () => ({ region: 'default', customer: null, equipment: 'equipment' })): Promise<TicketStore> {
    await migrateStore(sql, TICKET_MIGRATIONS);
    const store = new TicketStore(sql, await KpiWriter.open(sql), dims);
    await store.backfillKpis();
    return store;
  }

  /** Tickets saved before `ticket_kpi` existed get their rows once. */
  private async backfillKpis(): Promise<void> {
    const missing = await this.sql.all<TicketRow>('SELECT t.data, t.version FROM ticket t LEFT JOIN ticket_kpi k ON k.ticket_id = t.id WHERE k.ticket_id IS NULL');
    if (missing.length === 0) return;
    await this.sql.tx(async () => {
      for (const r of missing) await this.kpis.put(this.kpiRow(parse(r)));
    });
  }

  private kpiRow(t: Ticket): KpiTicketRow {
    const d = this.dims(t);
    return {
      id: t.id,
      openedAt: t.createdAt,
      week: weekStart(t.createdAt),
      month: new Date(t.createdAt).toISOString().slice(0, 7),
      site: t.site ?? '',
      region: d.region,
      grp: t.dispatchGroup,
      customer: d.customer ?? '',
      equipment: d.equipment,
      source: t.source,
      status: t.status,
      predictedFirst: t.source === 'predicted' && !t.customerNoticed ? 1 : 0,
      responseMs: t.acknowledgedAt !== null ? t.acknowledgedAt - t.createdAt : null,
      respondBy: t.respondBy,
      resolveBy: t.resolveBy,
      resolvedAt: t.resolvedAt,
      firstFix: t.firstTimeFix === null ? null : t.firstTimeFix ? 1 : 0,
      score: t.survey?.score ?? null,
      nps: t.survey?.nps ?? null,
      closeReason: t.closeReason,
    };
  }

  private async one(where: string, args: Param[], forUpdateToo = false): Promise<Ticket | undefined> {
    const row = await this.sql.get<TicketRow>(`SELECT data, version FROM ticket ${where}${forUpdate(this.sql, forUpdateToo)}`, args);
    return row && parse(row);
  }

  private async many(where: string, args: Param[]): Promise<Ticket[]> {
    return (await this.sql.all<TicketRow>(`SELECT data, version FROM ticket ${where}`, args)).map(parse);
  }

  /** The latest other ticket that had this dedupe key (closed or not). */
  previousOfKey(deviceId: string, key: string, exceptId: number): Promise<Ticket | undefined> {
    return this.one('WHERE device_id = ? AND dedupe_key = ? AND id != ? ORDER BY id DESC LIMIT 1', [deviceId, key, exceptId]);
  }

  /**
   * Resolved or accepted tickets with no return-visit answer, resolved (or accepted) before `before`.
   * Found through the KPI rows' index of tickets awaiting an answer; a later comment does not count.
   */
  async awaitingAnswer(before: number): Promise<Ticket[]> {
    const rows = await this.sql.all<TicketRow>(
      `SELECT t.data, t.version FROM ticket_kpi k JOIN ticket t ON t.id = k.ticket_id
        WHERE k.status IN ('resolved', 'accepted') AND k.resolved_at <= ? ORDER BY k.resolved_at`,
      [before],
    );
    return rows.map(parse).filter((t) => (t.acceptance?.at ?? t.resolvedAt ?? t.updatedAt) <= before);
  }

  /** `forUpdate`: inside a transaction on PostgreSQL, hold the row until commit. */
  get(id: number, opts: { forUpdate?: boolean } = {}): Promise<Ticket | undefined> {
    return this.one('WHERE id = ?', [id], opts.forUpdate);
  }

  /** The ticket for this dedupe key that is not closed, if any. */
  byKey(key: string): Promise<Ticket | undefined> {
    return this.one("WHERE dedupe_key = ? AND status != 'closed'", [key]);
  }

  activeOfDevice(deviceId: string): Promise<Ticket[]> {
    return this.many("WHERE device_id = ? AND status != 'closed' ORDER BY id", [deviceId]);
  }

  /**
   * Writes a new ticket: one row, with its KPI row. The open-problem index decides between two
   * writers of the same dedupe key: the second gets {@link Conflict} (its transaction retries and
   * finds the first's ticket) instead of a second ticket.
   */
  async create(t: Omit<Ticket, 'id' | 'version'>): Promise<Ticket> {
    // The id is taken before the insert so the row is written once, whole (the data carries its id).
    // SQLite: beyond both the sequence and the largest id, should rows ever have come in around the
    // sequence; the caller holds the write transaction, so nothing takes it meanwhile.
    const next =
      this.sql.dialect === 'sqlite'
        ? await this.sql.get<{ id: number }>("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'ticket'), 0), COALESCE((SELECT MAX(id) FROM ticket), 0)) + 1 AS id")
        : await this.sql.get<{ id: number }>("SELECT nextval(pg_get_serial_sequence('ticket', 'id')) AS id");
    const ticket = { ...t, id: next!.id, version: 1 } as Ticket;
    const c = columns(ticket);
    const inserted = await this.sql.get(
      `INSERT INTO ticket (id, dedupe_key, status, priority, site, device_id, sla_breached, respond_by, resolve_by, updated_at, data, version)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (dedupe_key) WHERE status != 'closed' DO NOTHING RETURNING id`,
      [c.id, c.dedupeKey, c.status, c.priority, c.site, c.deviceId, c.slaBreached, c.respondBy, c.resolveBy, c.updatedAt, JSON.stringify(ticket)],
    );
    if (!inserted) throw new Conflict(`a ticket for ${t.dedupeKey} was opened meanwhile`);
    await this.kpis.put(this.kpiRow(ticket));
    return ticket;
  }

  /**
   * Writes a changed ticket if nobody changed it since it was read (its `version`), and moves its
   * version on (in `t` too, so a later save in the same change builds on it). Throws {@link Conflict}
   * when the row moved on meanwhile: nothing is written.
   */
  async save(t: Ticket): Promise<void> {
    const c = columns(t);
    const version = t.version + 1;
    const data = JSON.stringify({ ...t, version });
    const r = await this.sql.run(
      `UPDATE ticket SET dedupe_key = ?, status = ?, priority = ?, sla_breached = ?, respond_by = ?, resolve_by = ?, updated_at = ?, data = ?, version = ?
        WHERE id = ? AND version = ?`,
      [c.dedupeKey, c.status, c.priority, c.slaBreached, c.respondBy, c.resolveBy, c.updatedAt, data, version, c.id, t.version],
    );
    if (r.changes === 0) throw new Conflict(`ticket ${t.id} changed meanwhile`);
    t.version = version;
    await this.kpis.put(this.kpiRow(t));
  }

  async addEvent(ticketId: number, type: TicketEventType, at: number, actor: Actor, detail: Record<string, unknown>): Promise<TicketEvent> {
    const r = await this.sql.get<{ id: number }>('INSERT INTO ticket_event (ticket_id, type, at, actor, detail) VALUES (?, ?, ?, ?, ?) RETURNING id', [ticketId, type, at, JSON.stringify(actor), JSON.stringify(detail)]);
    return { id: r!.id, type, at, ticketId, actor, detail };
  }

  async history(ticketId: number): Promise<TicketEvent[]> {
    return (await this.sql.all<EventRow>('SELECT * FROM ticket_event WHERE ticket_id = ? ORDER BY id', [ticketId])).map(toEvent);
  }

  /** Events after `afterId` (all tickets), oldest first: the live stream's catch-up. */
  async eventsAfter(afterId: number, limit: number): Promise<TicketEvent[]> {
    return (await this.sql.all<EventRow>('SELECT * FROM ticket_event WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit])).map(toEvent);
  }

  async lastEventId(): Promise<number> {
    return (await this.sql.get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM ticket_event'))!.id;
  }

  /** The latest finding of each (rule, metric) on a ticket; a neighbour's transmitted one is kept per device beside it. */
  async putFinding(ticketId: number, f: Finding): Promise<void> {
    await this.sql.run('INSERT INTO ticket_finding (ticket_id, rule_id, metric, finding) VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id, rule_id, metric) DO UPDATE SET finding = excluded.finding', [
      ticketId,
      f.ruleId,
      transmittedFrom(f) === undefined ? f.metric : `${f.metric}@${f.deviceId}`,
      JSON.stringify(f),
    ]);
  }

  async latestFindings(ticketId: number): Promise<Finding[]> {
    return (await this.sql.all<{ finding: string }>('SELECT finding FROM ticket_finding WHERE ticket_id = ? ORDER BY rule_id, metric', [ticketId])).map((r) => JSON.parse(r.finding) as Finding);
  }

  /** Every ticket created in `from <= createdAt < to`, oldest first, a page at a time (for exports of any size). */
  async *iterate(from: number, to: number): AsyncGenerator<Ticket> {
    const created = this.sql.dialect === 'sqlite' ? "json_extract(data, '$.createdAt')" : "(data::jsonb->>'createdAt')::bigint";
    for (let after = 0; ; ) {
      const rows = await this.sql.all<TicketRow & { id: number }>(`SELECT id, data, version FROM ticket WHERE id > ? AND ${created} >= ? AND ${created} < ? ORDER BY id LIMIT 500`, [after, from, to]);
      for (const r of rows) yield parse(r);
      if (rows.length < 500) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /**
   * Tickets resolved with an outcome that the case library has not filed yet (those resolved before it
   * existed, or copied into a new store), a page at a time: an anti-join, so a start with every case
   * filed reads nothing.
   */
  async *unfiled(): AsyncGenerator<Ticket> {
    const outcome = this.sql.dialect === 'sqlite' ? "json_extract(t.data, '$.outcome')" : "(t.data::jsonb->>'outcome')";
    for (let after = 0; ; ) {
      const rows = await this.sql.all<TicketRow & { id: number }>(
        `SELECT t.id, t.data, t.version FROM ticket t LEFT JOIN ticket_case c ON c.ticket_id = t.id
          WHERE t.id > ? AND c.ticket_id IS NULL AND t.status IN ('resolved', 'accepted', 'closed') AND ${outcome} IS NOT NULL ORDER BY t.id LIMIT 500`,
        [after],
      );
      for (const r of rows) yield parse(r);
      if (rows.length < 500) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** When the device's last ticket confirmed as a fault, opened before `before`, opened. */
  async lastConfirmedBefore(deviceId: string, before: number): Promise<number | undefined> {
    const [created, outcome] = this.sql.dialect === 'sqlite' ? ["json_extract(data, '$.createdAt')", "json_extract(data, '$.outcome')"] : ["(data::jsonb->>'createdAt')::bigint", "(data::jsonb->>'outcome')"];
    const r = await this.sql.get<{ at: number | null }>(`SELECT MAX(${created}) AS at FROM ticket WHERE device_id = ? AND ${outcome} = 'confirmed' AND ${created} < ?`, [deviceId, before]);
    return r?.at === null || r?.at === undefined ? undefined : Number(r.at);
  }

  /** Every ticket still being worked on (not resolved, accepted or closed), a page at a time. */
  async *working(): AsyncGenerator<Ticket> {
    for (let after = 0; ; ) {
      const rows = await this.sql.all<TicketRow & { id: number }>("SELECT id, data, version FROM ticket WHERE id > ? AND status NOT IN ('resolved', 'accepted', 'closed') ORDER BY id LIMIT 500", [after]);
      for (const r of rows) yield parse(r);
      if (rows.length < 500) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async list(q: TicketQuery): Promise<{ tickets: Ticket[]; total: number }> {
    const w = new Where()
      .in('status', q.status)
      .in('priority', q.priority)
      .add('site = ?', [q.site ?? ''], !!q.site)
      .add('device_id = ?', [q.device ?? ''], !!q.device)
      .within('device_id', q.devices && new Set(q.devices))
      .add('sla_breached = ?', [q.slaBreached ? 1 : 0], q.slaBreached !== undefined)
      .within('site', q.sites);
    const total = (await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ticket ${w}`, w.args))!.n;
    const tickets = await this.many(`${w} ORDER BY priority, resolve_by, id LIMIT ? OFFSET ?`, [...w.args, q.limit, q.offset]);
    return { tickets, total };
  }

  /** Tickets still running whose response or resolution deadline has passed; the caller tells new breaches from known ones. */
  overdue(now: number): Promise<Ticket[]> {
    return this.many("WHERE status NOT IN ('resolved', 'closed') AND ((resolve_by <= ?) OR (status IN ('open', 'reopened') AND respond_by <= ?)) ORDER BY id", [now, now]);
  }

  countByStatus(): Promise<{ status: string; n: number }[]> {
    return this.sql.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM ticket GROUP BY status');
  }

  async cursor(): Promise<number> {
    return (await this.sql.get<{ finding_id: number }>('SELECT finding_id FROM ticket_cursor WHERE id = 1'))?.finding_id ?? 0;
  }

  async setCursor(findingId: number): Promise<void> {
    const max = this.sql.dialect === 'sqlite' ? 'MAX' : 'GREATEST';
    await this.sql.run(`INSERT INTO ticket_cursor (id, finding_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET finding_id = ${max}(ticket_cursor.finding_id, excluded.finding_id)`, [findingId]);
  }

  async ruleStats(): Promise<RuleStats[]> {
    const rows = await this.sql.all<{ ruleId: string; data: string; version: number }>('SELECT DISTINCT f.rule_id AS "ruleId", t.data AS data, t.version AS version FROM ticket_finding f JOIN ticket t ON t.id = f.ticket_id');
    const by = new Map<string, RuleStats>();
    for (const r of rows) {
      const t = parse(r);
      let s = by.get(r.ruleId);
      if (!s) by.set(r.ruleId, (s = { ruleId: r.ruleId, tickets: 0, open: 0, confirmed: 0, no_fault_found: 0, false_alarm: 0, precision: null }));
      s.tickets++;
      const outcome: Outcome | null = t.status === 'resolved' || t.status === 'closed' ? t.outcome : null;
      if (outcome) s[outcome]++;
      else s.open++;
    }
    for (const s of by.values()) {
      const judged = s.confirmed + s.false_alarm + s.no_fault_found;
      s.precision = judged > 0 ? Math.round((s.confirmed / judged) * 1000) / 1000 : null;
    }
    return [...by.values()].sort((a, b) => a.ruleId.localeCompare(b.ruleId));
  }
}

const TICKET_MIGRATIONS: Migration[] = [
  {
    id: 'tickets/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS ticket (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL, status TEXT NOT NULL,
        priority TEXT NOT NULL, site TEXT, device_id TEXT NOT NULL, sla_breached INTEGER NOT NULL, respond_by INTEGER NOT NULL,
        resolve_by INTEGER NOT NULL, updated_at INTEGER NOT NULL, data TEXT NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS ticket_open_key ON ticket (dedupe_key) WHERE status != 'closed';
      CREATE INDEX IF NOT EXISTS ticket_device ON ticket (device_id, status);
      CREATE TABLE IF NOT EXISTS ticket_event (id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id INTEGER NOT NULL, type TEXT NOT NULL,
        at INTEGER NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS ticket_event_ticket ON ticket_event (ticket_id, id);
      CREATE TABLE IF NOT EXISTS ticket_finding (ticket_id INTEGER NOT NULL, rule_id TEXT NOT NULL, metric TEXT NOT NULL, finding TEXT NOT NULL,
        PRIMARY KEY (ticket_id, rule_id, metric)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ticket_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), finding_id INTEGER NOT NULL);`,
    // The open-problem index is the one rule that keeps two servers from opening one problem twice.
    postgres: `CREATE TABLE ticket (id BIGSERIAL PRIMARY KEY, dedupe_key TEXT NOT NULL, status TEXT NOT NULL,
        priority TEXT NOT NULL, site TEXT, device_id TEXT NOT NULL, sla_breached INTEGER NOT NULL, respond_by BIGINT NOT NULL,
        resolve_by BIGINT NOT NULL, updated_at BIGINT NOT NULL, data TEXT NOT NULL);
      CREATE UNIQUE INDEX ticket_open_key ON ticket (dedupe_key) WHERE status != 'closed';
      CREATE INDEX ticket_device ON ticket (device_id, status);
      CREATE TABLE ticket_event (id BIGSERIAL PRIMARY KEY, ticket_id BIGINT NOT NULL, type TEXT NOT NULL,
        at BIGINT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX ticket_event_ticket ON ticket_event (ticket_id, id);
      CREATE TABLE ticket_finding (ticket_id BIGINT NOT NULL, rule_id TEXT NOT NULL, metric TEXT NOT NULL, finding TEXT NOT NULL,
        PRIMARY KEY (ticket_id, rule_id, metric));
      CREATE TABLE ticket_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), finding_id BIGINT NOT NULL);`,
  },
  {
    // Optimistic versioning: a change applies only to the version it was made from.
    id: 'tickets/002-version',
    sqlite: 'ALTER TABLE ticket ADD COLUMN version INTEGER NOT NULL DEFAULT 1',
    postgres: 'ALTER TABLE ticket ADD COLUMN version INTEGER NOT NULL DEFAULT 1',
  },
];

interface TicketRow {
  data: string;
  version: number;
}

/** A stored ticket; one saved before the service-loop fields existed reads with their defaults. */
function parse(row: TicketRow): Ticket {
  const t = JSON.parse(row.data) as Ticket;
  // The column is the version's truth; tickets stored before versions carry none in their data.
  t.version = row.version;
  // Tickets stored before machines were declared have no transmitted evidence.
  if (t.evidence.transmitted === undefined) t.evidence.transmitted = [];
  // Tickets stored before models and structured resolutions existed.
  if (t.equipment === undefined) t.equipment = null;
  if (t.resolution === undefined) t.resolution = null;
  // Spread only where needed: merging every ticket into a fresh object costs the hot path a third.
  return t.source === undefined ? ({ ...TICKET_DEFAULTS, ...t } as Ticket) : t;
}

function columns(t: Ticket) {
  return {
    id: t.id,
    dedupeKey: t.dedupeKey,
    status: t.status,
    priority: t.priority,
    site: t.site,
    deviceId: t.deviceId ?? '',
    slaBreached: t.slaBreached.length > 0 ? 1 : 0,
    respondBy: t.respondBy,
    resolveBy: t.resolveBy,
    updatedAt: t.updatedAt,
  };
}

interface EventRow {
  id: number;
  ticket_id: number;
  type: string;
  at: number;
  actor: string;
  detail: string;
}
const toEvent = (r: EventRow): TicketEvent => ({
  id: r.id,
  type: r.type as TicketEventType,
  at: r.at,
  ticketId: r.ticket_id,
  actor: JSON.parse(r.actor) as Actor,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});
