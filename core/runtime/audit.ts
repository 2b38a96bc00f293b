import { type Db, Where } from './sqlite.ts';
import { type Migration, migrate } from './migrations.ts';
import { SqliteSql } from '../store/sqlite.ts';
import { migrateStore } from '../store/migrate.ts';
import type { Sql } from '../store/sql.ts';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export const AUDIT_MIGRATIONS: Migration[] = [
  {
    id: 'audit/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, detail TEXT NOT NULL)`,
    postgres: `CREATE TABLE IF NOT EXISTS audit_log (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, detail TEXT NOT NULL)`,
  },
];

/**
 * Who did what and when, for every privileged action; append-only, in the process's store. A record
 * made inside a store transaction commits (or not) with the change it describes.
 */
export class AuditLog {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<AuditLog> {
    await migrateStore(sql, AUDIT_MIGRATIONS);
    return new AuditLog(sql);
  }

  /** On a process's own SQLite file, opened at once (the gateway, the command line). */
  static sqlite(db: Db): AuditLog {
    migrate(db, AUDIT_MIGRATIONS);
    return new AuditLog(new SqliteSql(db));
  }

  async record(at: number, actor: string, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.sql.run('INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)', [at, actor, action, JSON.stringify(detail)]);
  }

  async list(q: { limit: number; before?: number | undefined; actor?: string | undefined; action?: string | undefined }): Promise<AuditEntry[]> {
    const w = new Where()
      .add('id < ?', [q.before ?? 0], q.before !== undefined)
      .add('actor = ?', [q.actor ?? ''], !!q.actor)
      .add('action LIKE ?', [`${q.action}%`], !!q.action);
    const rows = await this.sql.all<{ id: number; at: number; actor: string; action: string; detail: string }>(`SELECT * FROM audit_log ${w} ORDER BY id DESC LIMIT ?`, [...w.args, q.limit]);
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}
