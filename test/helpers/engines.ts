import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { PostgresSql, type Sql, SqliteSql, openDatabase } from '../../core/index.ts';

/** The store engines a suite runs on: the same tests, once each. */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** A new, empty database on the test PostgreSQL (started once for the run by the global setup); its URL. */
export async function freshDatabase(prefix = 't'): Promise<string> {
  const admin = inject('postgresUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** An empty store on `engine`: SQLite in memory, or a fresh PostgreSQL database. */
export async function testStore(engine: Engine, pool = 8): Promise<Sql> {
  return engine === 'sqlite' ? new SqliteSql(openDatabase(':memory:')) : new PostgresSql({ url: await freshDatabase(), pool });
}
