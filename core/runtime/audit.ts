import { type Db, Where } from './sqlite.ts';
import { migrate } from './migrations.ts';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

/** Who did what and when, for every privileged action; append-only, in the process's SQLite file. */
export class AuditLog {
  private readonly insert;

  constructor(private readonly db: Db) {
    migrate(db, [{ id: 'audit/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, detail TEXT NOT NULL)` }]);
    this.insert = db.prepare('INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)');
  }

  record(at: number, actor: string, action: string, detail: Record<string, unknown>): void {
    this.insert.run(at, actor, action, JSON.stringify(detail));
  }

  list(q: { limit: number; before?: number | undefined; actor?: string | undefined; action?: string | undefined }): AuditEntry[] {
    const w = new Where()
      .add('id < ?', [q.before ?? 0], q.before !== undefined)
      .add('actor = ?', [q.actor ?? ''], !!q.actor)
      .add('action LIKE ?', [`${q.action}%`], !!q.action);
    const rows = this.db.prepare(`SELECT * FROM audit_log ${w} ORDER BY id DESC LIMIT ?`).all(...w.args, q.limit) as { id: number; at: number; actor: string; action: string; detail: string }[];
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}
