import { KpiWriter, type KpiTicketRow, weekStart } from './kpis.ts';
import { type Actor, type Db, type Finding, type Outcome, type Priority, TICKET_DEFAULTS, type Ticket, type TicketEvent, type TicketEventType, type TicketStatus, Where, transmittedFrom, migrate } from '../core/index.ts';

export interface TicketQuery {
  status?: TicketStatus[] | undefined;
  priority?: Priority[] | undefined;
  site?: string | undefined;
  device?: string | undefined;
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
 * Tickets, their history and the latest finding of each rule on them, in the server's SQLite file.
 * A partial unique index keeps one ticket per dedupe key that is not closed, whatever the callers do.
 * Each save also writes the ticket's row of `ticket_kpi`: the few numbers the KPIs aggregate, in
 * columns, so a year of a million tickets is one indexed scan, not a million JSON parses.
 */
export class TicketStore {
  private readonly stmts;
  private readonly kpis: KpiWriter;

  constructor(
    readonly db: Db,
    private readonly dims: (t: Ticket) => KpiDimensions = () => ({ region: 'default', customer: null, equipment: 'equipment' }),
  ) {
    migrate(db, [{ id: 'tickets/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS ticket (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL, status TEXT NOT NULL,
        priority TEXT NOT NULL, site TEXT, device_id TEXT NOT NULL, sla_breached INTEGER NOT NULL, respond_by INTEGER NOT NULL,
        resolve_by INTEGER NOT NULL, updated_at INTEGER NOT NULL, data TEXT NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS ticket_open_key ON ticket (dedupe_key) WHERE status != 'closed';
      CREATE INDEX IF NOT EXISTS ticket_device ON ticket (device_id, status);
      CREATE TABLE IF NOT EXISTS ticket_event (id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id INTEGER NOT NULL, type TEXT NOT NULL,
        at INTEGER NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS ticket_event_ticket ON ticket_event (ticket_id, id);
      CREATE TABLE IF NOT EXISTS ticket_finding (ticket_id INTEGER NOT NULL, rule_id TEXT NOT NULL, metric TEXT NOT NULL, finding TEXT NOT NULL,
        PRIMARY KEY (ticket_id, rule_id, metric)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ticket_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), finding_id INTEGER NOT NULL);` }]);
    this.kpis = new KpiWriter(db);
    this.stmts = {
      insert: db.prepare(`INSERT INTO ticket (id, dedupe_key, status, priority, site, device_id, sla_breached, respond_by, resolve_by, updated_at, data)
        VALUES (@id, @dedupeKey, @status, @priority, @site, @deviceId, @slaBreached, @respondBy, @resolveBy, @updatedAt, @data)`),
      // The id AUTOINCREMENT would give, taken before the insert so the row is written once, whole
      // (the data carries its id). Callers hold the write transaction, so nothing takes it meanwhile.
      // Beyond both the sequence and the largest id, should rows ever have come in around the sequence.
      nextId: db.prepare("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'ticket'), 0), COALESCE((SELECT MAX(id) FROM ticket), 0)) + 1 AS id"),
      update: db.prepare(`UPDATE ticket SET dedupe_key = @dedupeKey, status = @status, priority = @priority, sla_breached = @slaBreached,
        respond_by = @respondBy, resolve_by = @resolveBy, updated_at = @updatedAt, data = @data WHERE id = @id`),
      get: db.prepare('SELECT data FROM ticket WHERE id = ?'),
      byKey: db.prepare("SELECT data FROM ticket WHERE dedupe_key = ? AND status != 'closed'"),
      activeOfDevice: db.prepare("SELECT data FROM ticket WHERE device_id = ? AND status != 'closed' ORDER BY id"),
      event: db.prepare('INSERT INTO ticket_event (ticket_id, type, at, actor, detail) VALUES (?, ?, ?, ?, ?)'),
      finding: db.prepare('INSERT INTO ticket_finding (ticket_id, rule_id, metric, finding) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET finding = excluded.finding'),
      findings: db.prepare('SELECT finding FROM ticket_finding WHERE ticket_id = ? ORDER BY rule_id, metric'),
      // Through the device's index: a dedupe key names its device, and a device has few tickets.
      awaitingAnswer: db.prepare(`SELECT t.data FROM ticket_kpi k JOIN ticket t ON t.id = k.ticket_id
        WHERE k.status IN ('resolved', 'accepted') AND k.resolved_at <= ? ORDER BY k.resolved_at`),
      previousOfKey: db.prepare('SELECT data FROM ticket WHERE device_id = ? AND dedupe_key = ? AND id != ? ORDER BY id DESC LIMIT 1'),
    };
    this.backfillKpis();
  }

  /** Tickets saved before `ticket_kpi` existed get their rows once. */
  private backfillKpis(): void {
    const missing = this.db.prepare('SELECT t.data FROM ticket t LEFT JOIN ticket_kpi k ON k.ticket_id = t.id WHERE k.ticket_id IS NULL').all() as { data: string }[];
    if (missing.length === 0) return;
    this.db.transaction(() => {
      for (const r of missing) this.kpis.put(this.kpiRow(parse(r.data)));
    })();
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

  /** The latest other ticket that had this dedupe key (closed or not). */
  previousOfKey(deviceId: string, key: string, exceptId: number): Ticket | undefined {
    const row = this.stmts.previousOfKey.get(deviceId, key, exceptId) as { data: string } | undefined;
    return row && parse(row.data);
  }

  /**
   * Resolved or accepted tickets with no return-visit answer, resolved (or accepted) before `before`.
   * Found through the KPI rows' index of tickets awaiting an answer; a later comment does not count.
   */
  awaitingAnswer(before: number): Ticket[] {
    const rows = this.stmts.awaitingAnswer.all(before) as { data: string }[];
    return rows.map((r) => parse(r.data)).filter((t) => (t.acceptance?.at ?? t.resolvedAt ?? t.updatedAt) <= before);
  }

  get(id: number): Ticket | undefined {
    const row = this.stmts.get.get(id) as { data: string } | undefined;
    return row && (parse(row.data));
  }

  /** The ticket for this dedupe key that is not closed, if any. */
  byKey(key: string): Ticket | undefined {
    const row = this.stmts.byKey.get(key) as { data: string } | undefined;
    return row && (parse(row.data));
  }

  activeOfDevice(deviceId: string): Ticket[] {
    return (this.stmts.activeOfDevice.all(deviceId) as { data: string }[]).map((r) => parse(r.data));
  }

  /** Inserts a ticket and returns it with its id. */
  /** Writes a new ticket: one row, with its KPI row. */
  create(t: Omit<Ticket, 'id'>): Ticket {
    const { id } = this.stmts.nextId.get() as { id: number };
    const ticket = { ...t, id } as Ticket;
    this.stmts.insert.run({ ...columns(ticket), data: JSON.stringify(ticket) });
    this.kpis.put(this.kpiRow(ticket));
    return ticket;
  }

  save(t: Ticket): void {
    this.stmts.update.run({ ...columns(t), data: JSON.stringify(t) });
    this.kpis.put(this.kpiRow(t));
  }

  addEvent(ticketId: number, type: TicketEventType, at: number, actor: Actor, detail: Record<string, unknown>): TicketEvent {
    const id = Number(this.stmts.event.run(ticketId, type, at, JSON.stringify(actor), JSON.stringify(detail)).lastInsertRowid);
    return { id, type, at, ticketId, actor, detail };
  }

  history(ticketId: number): TicketEvent[] {
    return (this.db.prepare('SELECT * FROM ticket_event WHERE ticket_id = ? ORDER BY id').all(ticketId) as EventRow[]).map(toEvent);
  }

  /** Events after `afterId` (all tickets), oldest first: the live stream's catch-up. */
  eventsAfter(afterId: number, limit: number): TicketEvent[] {
    return (this.db.prepare('SELECT * FROM ticket_event WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as EventRow[]).map(toEvent);
  }

  lastEventId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM ticket_event').get() as { id: number }).id;
  }

  /** The latest finding of each (rule, metric) on a ticket; a neighbour's transmitted one is kept per device beside it. */
  putFinding(ticketId: number, f: Finding): void {
    this.stmts.finding.run(ticketId, f.ruleId, transmittedFrom(f) === undefined ? f.metric : `${f.metric}@${f.deviceId}`, JSON.stringify(f));
  }

  latestFindings(ticketId: number): Finding[] {
    return (this.stmts.findings.all(ticketId) as { finding: string }[]).map((r) => JSON.parse(r.finding) as Finding);
  }

  /** Every ticket created in `from <= createdAt < to`, oldest first, one at a time (for exports of any size). */
  *iterate(from: number, to: number): Generator<Ticket> {
    const rows = this.db.prepare("SELECT data FROM ticket WHERE json_extract(data, '$.createdAt') >= ? AND json_extract(data, '$.createdAt') < ? ORDER BY id").iterate(from, to) as Iterable<{ data: string }>;
    for (const r of rows) yield parse(r.data);
  }

  list(q: TicketQuery): { tickets: Ticket[]; total: number } {
    const w = new Where()
      .in('status', q.status)
      .in('priority', q.priority)
      .add('site = ?', [q.site ?? ''], !!q.site)
      .add('device_id = ?', [q.device ?? ''], !!q.device)
      .add('sla_breached = ?', [q.slaBreached ? 1 : 0], q.slaBreached !== undefined)
      .within('site', q.sites);
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM ticket ${w}`).get(...w.args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT data FROM ticket ${w} ORDER BY priority, resolve_by, id LIMIT ? OFFSET ?`).all(...w.args, q.limit, q.offset) as { data: string }[];
    return { tickets: rows.map((r) => parse(r.data)), total };
  }

  /** Tickets still running whose response or resolution deadline has passed; the caller tells new breaches from known ones. */
  overdue(now: number): Ticket[] {
    const rows = this.db
      .prepare(
        `SELECT data FROM ticket WHERE status NOT IN ('resolved', 'closed') AND (
          (resolve_by <= ?) OR (status IN ('open', 'reopened') AND respond_by <= ?)) ORDER BY id`,
      )
      .all(now, now) as { data: string }[];
    return rows.map((r) => parse(r.data));
  }

  countByStatus(): { status: string; n: number }[] {
    return this.db.prepare('SELECT status, COUNT(*) AS n FROM ticket GROUP BY status').all() as { status: string; n: number }[];
  }

  cursor(): number {
    return (this.db.prepare('SELECT finding_id FROM ticket_cursor WHERE id = 1').get() as { finding_id: number } | undefined)?.finding_id ?? 0;
  }

  setCursor(findingId: number): void {
    this.db.prepare('INSERT INTO ticket_cursor (id, finding_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET finding_id = MAX(finding_id, excluded.finding_id)').run(findingId);
  }

  ruleStats(): RuleStats[] {
    const rows = this.db.prepare('SELECT DISTINCT f.rule_id AS ruleId, t.data AS data FROM ticket_finding f JOIN ticket t ON t.id = f.ticket_id').all() as { ruleId: string; data: string }[];
    const by = new Map<string, RuleStats>();
    for (const r of rows) {
      const t = parse(r.data);
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

/** A stored ticket; one saved before the service-loop fields existed reads with their defaults. */
function parse(data: string): Ticket {
  const t = JSON.parse(data) as Ticket;
  // Tickets stored before machines were declared have no transmitted evidence.
  if (t.evidence.transmitted === undefined) t.evidence.transmitted = [];
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
