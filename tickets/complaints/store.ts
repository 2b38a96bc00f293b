import type { Db } from '../../core/index.ts';
import { migrate } from '../../core/index.ts';
import { weekStart } from '../kpis.ts';
import type { Complaint, ComplaintEvent, ComplaintStatus } from './model.ts';

/** Where a complaint counts in the KPIs, from the policy and its first linked ticket. */
export interface ComplaintDimensions {
  region: string;
  grp: string;
  equipment: string;
}

/**
 * Complaints and their history, beside the tickets in the server's database. The columns beside the
 * JSON are what lists filter on and what the KPIs group by.
 */
export class ComplaintStore {
  constructor(readonly db: Db) {
    migrate(db, [{ id: 'complaints/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS complaint (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, week INTEGER NOT NULL, month TEXT NOT NULL,
        status TEXT NOT NULL, grade TEXT NOT NULL, customer_key TEXT NOT NULL, cause TEXT NOT NULL, repeat INTEGER NOT NULL,
        site TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, customer TEXT NOT NULL, equipment TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS complaint_customer ON complaint (customer_key, cause, created_at);
      CREATE INDEX IF NOT EXISTS complaint_created ON complaint (created_at);
      CREATE TABLE IF NOT EXISTS complaint_event (id INTEGER PRIMARY KEY AUTOINCREMENT, complaint_id INTEGER NOT NULL, type TEXT NOT NULL,
        at INTEGER NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS complaint_event_complaint ON complaint_event (complaint_id, id);` }]);
  }

  create(c: Omit<Complaint, 'id'>, customerKey: string, dims: ComplaintDimensions): Complaint {
    const id = Number(
      this.db
        .prepare(`INSERT INTO complaint (created_at, week, month, status, grade, customer_key, cause, repeat, site, region, grp, customer, equipment, data)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')`)
        .run(c.createdAt, weekStart(c.createdAt), new Date(c.createdAt).toISOString().slice(0, 7), c.status, c.grade, customerKey, c.cause, c.repeat ? 1 : 0, c.site ?? '', dims.region, dims.grp, c.customer ?? '', dims.equipment).lastInsertRowid,
    );
    const complaint = { ...c, id };
    this.save(complaint);
    return complaint;
  }

  save(c: Complaint): void {
    this.db.prepare('UPDATE complaint SET status = ?, grade = ?, data = ? WHERE id = ?').run(c.status, c.grade, JSON.stringify(c), c.id);
  }

  get(id: number): Complaint | undefined {
    const r = this.db.prepare('SELECT data FROM complaint WHERE id = ?').get(id) as { data: string } | undefined;
    return r && (JSON.parse(r.data) as Complaint);
  }

  /** The latest complaint of this customer about this cause since `since`, if any. */
  previous(customerKey: string, cause: string, since: number): Complaint | undefined {
    const r = this.db.prepare('SELECT data FROM complaint WHERE customer_key = ? AND cause = ? AND created_at >= ? ORDER BY id DESC LIMIT 1').get(customerKey, cause, since) as { data: string } | undefined;
    return r && (JSON.parse(r.data) as Complaint);
  }

  list(q: { status?: ComplaintStatus[] | undefined; site?: string | undefined; sites?: ReadonlySet<string> | undefined; limit: number; offset: number }): { complaints: Complaint[]; total: number } {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, values: unknown[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (q.status) add(`status IN (${q.status.map(() => '?').join(', ')})`, q.status);
    if (q.site) add('site = ?', [q.site]);
    if (q.sites) add(`site IN (${[...q.sites].map(() => '?').join(', ') || "''"})`, [...q.sites]);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM complaint ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT data FROM complaint ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as { data: string }[];
    return { complaints: rows.map((r) => JSON.parse(r.data) as Complaint), total };
  }

  addEvent(complaintId: number, type: ComplaintEvent['type'], at: number, actor: ComplaintEvent['actor'], detail: Record<string, unknown>): ComplaintEvent {
    const id = Number(this.db.prepare('INSERT INTO complaint_event (complaint_id, type, at, actor, detail) VALUES (?, ?, ?, ?, ?)').run(complaintId, type, at, JSON.stringify(actor), JSON.stringify(detail)).lastInsertRowid);
    return { id, complaintId, type, at, actor, detail };
  }

  history(complaintId: number): ComplaintEvent[] {
    const rows = this.db.prepare('SELECT * FROM complaint_event WHERE complaint_id = ? ORDER BY id').all(complaintId) as { id: number; complaint_id: number; type: ComplaintEvent['type']; at: number; actor: string; detail: string }[];
    return rows.map((r) => ({ id: r.id, complaintId: r.complaint_id, type: r.type, at: r.at, actor: JSON.parse(r.actor) as ComplaintEvent['actor'], detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}
