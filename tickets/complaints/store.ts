import { type Sql, Where, forUpdate, migrateStore } from '../../core/index.ts';
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
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<ComplaintStore> {
    await migrateStore(sql, [
      {
        id: 'complaints/001-initial',
        sqlite: `CREATE TABLE IF NOT EXISTS complaint (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, week INTEGER NOT NULL, month TEXT NOT NULL,
        status TEXT NOT NULL, grade TEXT NOT NULL, customer_key TEXT NOT NULL, cause TEXT NOT NULL, repeat INTEGER NOT NULL,
        site TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, customer TEXT NOT NULL, equipment TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS complaint_customer ON complaint (customer_key, cause, created_at);
      CREATE INDEX IF NOT EXISTS complaint_created ON complaint (created_at);
      CREATE TABLE IF NOT EXISTS complaint_event (id INTEGER PRIMARY KEY AUTOINCREMENT, complaint_id INTEGER NOT NULL, type TEXT NOT NULL,
        at INTEGER NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS complaint_event_complaint ON complaint_event (complaint_id, id);`,
        postgres: `CREATE TABLE complaint (id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, week BIGINT NOT NULL, month TEXT NOT NULL,
        status TEXT NOT NULL, grade TEXT NOT NULL, customer_key TEXT NOT NULL, cause TEXT NOT NULL, repeat INTEGER NOT NULL,
        site TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, customer TEXT NOT NULL, equipment TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX complaint_customer ON complaint (customer_key, cause, created_at);
      CREATE INDEX complaint_created ON complaint (created_at);
      CREATE TABLE complaint_event (id BIGSERIAL PRIMARY KEY, complaint_id BIGINT NOT NULL, type TEXT NOT NULL,
        at BIGINT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE INDEX complaint_event_complaint ON complaint_event (complaint_id, id);`,
      },
    ]);
    return new ComplaintStore(sql);
  }

  async create(c: Omit<Complaint, 'id'>, customerKey: string, dims: ComplaintDimensions): Promise<Complaint> {
    const r = await this.sql.get<{ id: number }>(
      `INSERT INTO complaint (created_at, week, month, status, grade, customer_key, cause, repeat, site, region, grp, customer, equipment, data)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}') RETURNING id`,
      [c.createdAt, weekStart(c.createdAt), new Date(c.createdAt).toISOString().slice(0, 7), c.status, c.grade, customerKey, c.cause, c.repeat ? 1 : 0, c.site ?? '', dims.region, dims.grp, c.customer ?? '', dims.equipment],
    );
    const complaint = { ...c, id: r!.id };
    await this.save(complaint);
    return complaint;
  }

  async save(c: Complaint): Promise<void> {
    await this.sql.run('UPDATE complaint SET status = ?, grade = ?, data = ? WHERE id = ?', [c.status, c.grade, JSON.stringify(c), c.id]);
  }

  /** `forUpdate`: inside a transaction, hold the row until it commits (another server's change waits). */
  async get(id: number, opts: { forUpdate?: boolean } = {}): Promise<Complaint | undefined> {
    const r = await this.sql.get<{ data: string }>(`SELECT data FROM complaint WHERE id = ?${forUpdate(this.sql, opts.forUpdate)}`, [id]);
    return r && (JSON.parse(r.data) as Complaint);
  }

  /** The latest complaint of this customer about this cause since `since`, if any. */
  async previous(customerKey: string, cause: string, since: number): Promise<Complaint | undefined> {
    const r = await this.sql.get<{ data: string }>('SELECT data FROM complaint WHERE customer_key = ? AND cause = ? AND created_at >= ? ORDER BY id DESC LIMIT 1', [customerKey, cause, since]);
    return r && (JSON.parse(r.data) as Complaint);
  }

  async list(q: { status?: ComplaintStatus[] | undefined; site?: string | undefined; sites?: ReadonlySet<string> | undefined; limit: number; offset: number }): Promise<{ complaints: Complaint[]; total: number }> {
    const w = new Where().in('status', q.status).add('site = ?', [q.site ?? ''], !!q.site).within('site', q.sites);
    const total = (await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM complaint ${w}`, w.args))!.n;
    const rows = await this.sql.all<{ data: string }>(`SELECT data FROM complaint ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, [...w.args, q.limit, q.offset]);
    return { complaints: rows.map((r) => JSON.parse(r.data) as Complaint), total };
  }

  async addEvent(complaintId: number, type: ComplaintEvent['type'], at: number, actor: ComplaintEvent['actor'], detail: Record<string, unknown>): Promise<ComplaintEvent> {
    const r = await this.sql.get<{ id: number }>('INSERT INTO complaint_event (complaint_id, type, at, actor, detail) VALUES (?, ?, ?, ?, ?) RETURNING id', [complaintId, type, at, JSON.stringify(actor), JSON.stringify(detail)]);
    return { id: r!.id, complaintId, type, at, actor, detail };
  }

  async history(complaintId: number): Promise<ComplaintEvent[]> {
    const rows = await this.sql.all<{ id: number; complaint_id: number; type: ComplaintEvent['type']; at: number; actor: string; detail: string }>('SELECT * FROM complaint_event WHERE complaint_id = ? ORDER BY id', [complaintId]);
    return rows.map((r) => ({ id: r.id, complaintId: r.complaint_id, type: r.type, at: r.at, actor: JSON.parse(r.actor) as ComplaintEvent['actor'], detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}
