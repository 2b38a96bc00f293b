import { type Migration, checkMigrationIds, migrate } from '../runtime/migrations.ts';
import type { PostgresSql } from './postgres.ts';
import type { Sql } from './sql.ts';
import type { SqliteSql } from './sqlite.ts';

// One lock id for every server's migrations: two servers starting at once apply each change once.
const MIGRATION_LOCK = 0x76_69_67_6c; // 'vigl'

/**
 * Applies the migrations not yet recorded in `schema_migration`, on either engine; returns their ids.
 * On SQLite this is {@link migrate}. On PostgreSQL each runs in its own transaction under an advisory
 * lock, so servers that start together do not apply one twice; a migration with no `postgres`
 * statements for an area that runs there is an error, not a silent skip.
 */
export async function migrateStore(sql: Sql, migrations: readonly Migration[]): Promise<string[]> {
  if (sql.dialect === 'sqlite') return migrate((sql as SqliteSql).db, migrations);
  checkMigrationIds(migrations);
  const pgsql = sql as PostgresSql;
  // Under the lock too: two servers creating the table at once collide in the catalog even with IF NOT EXISTS.
  await pgsql.tx(async () => {
    await pgsql.run('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await pgsql.exec('CREATE TABLE IF NOT EXISTS schema_migration (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  });
  const applied: string[] = [];
  for (const m of migrations) {
    if (m.postgres === undefined) throw new Error(`migration ${m.id} has no PostgreSQL statements`);
    const did = await pgsql.tx(async () => {
      await pgsql.run('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      if (await pgsql.get('SELECT 1 AS x FROM schema_migration WHERE id = ?', [m.id])) return false;
      if (m.postgres) await pgsql.exec(m.postgres);
      await pgsql.run('INSERT INTO schema_migration (id, applied_at) VALUES (?, ?)', [m.id, Date.now()]);
      return true;
    });
    if (did) applied.push(m.id);
  }
  return applied;
}
