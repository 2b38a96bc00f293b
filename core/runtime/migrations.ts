import type { Db } from './sqlite.ts';

/**
 * One numbered change to the database. `id` is `<area>/<NNN>-<what>`, numbered within its area (the
 * store that owns the tables); once applied it is recorded in `schema_migration` and never run again.
 * The statements are per engine: `sqlite` now; a second engine adds its dialect beside it.
 * The first migration of an area creates its tables `IF NOT EXISTS`, so a database made before
 * migrations were recorded is taken over as it is; every later change is a migration of its own.
 */
export interface Migration {
  id: string;
  /** Statements, or a step that must look first (a column a database from before migrations may already have). */
  sqlite: string | ((db: Db) => void);
  /**
   * The same change on PostgreSQL (BIGINT for times and counts, JSONB where SQLite keeps JSON text).
   * An area whose store runs on both engines gives every migration one; '' when the change only
   * concerns SQLite (a database from before migrations, which PostgreSQL never had).
   */
  postgres?: string;
}

const ID = /^[a-z][a-z0-9_-]*(\/[a-z0-9_-]+)*\/(\d{3})-[a-z0-9-]+$/;

/** Refuses ids that are malformed or out of order within their list. */
export function checkMigrationIds(migrations: readonly Migration[]): void {
  let last = -1;
  for (const m of migrations) {
    const n = ID.exec(m.id);
    if (!n) throw new Error(`migration id ${m.id}: expected <area>/<NNN>-<what>`);
    if (Number(n[2]) <= last) throw new Error(`migration ${m.id} is out of order`);
    last = Number(n[2]);
  }
}

/** Applies, in order and each in its own transaction, the migrations not yet recorded; returns their ids. */
export function migrate(db: Db, migrations: readonly Migration[]): string[] {
  checkMigrationIds(migrations);
  db.exec('CREATE TABLE IF NOT EXISTS schema_migration (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID');
  const done = db.prepare('SELECT 1 FROM schema_migration WHERE id = ?');
  const record = db.prepare('INSERT INTO schema_migration (id, applied_at) VALUES (?, ?)');
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.get(m.id)) continue;
    db.transaction(() => {
      if (typeof m.sqlite === 'string') db.exec(m.sqlite);
      else m.sqlite(db);
      record.run(m.id, Date.now());
    })();
    applied.push(m.id);
  }
  return applied;
}

/** Every migration recorded in the database, oldest first. */
export function appliedMigrations(db: Db): { id: string; appliedAt: number }[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'").get();
  if (!exists) return [];
  return (db.prepare('SELECT id, applied_at AS appliedAt FROM schema_migration ORDER BY applied_at, id').all() as { id: string; appliedAt: number }[]);
}
