import { z } from 'zod';
import { openDatabase } from '../runtime/sqlite.ts';
import { PostgresSql } from './postgres.ts';
import type { Sql } from './sql.ts';
import { SqliteSql } from './sqlite.ts';

export const DatabaseConfigSchema = z
  .object({
    /**
     * `postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=…` puts the server's state in
     * PostgreSQL. Absent: the SQLite file in the data directory.
     */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL: postgres://user@host:5432/database')
      .optional(),
    /** Connections this server keeps open to PostgreSQL. */
    pool: z.number().int().min(2).max(200).default(10),
  })
  .strict();
export type DatabaseConfig = z.infer<typeof DatabaseConfigSchema>;

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** The store a server runs on: PostgreSQL when `config.url` is set, otherwise the SQLite file. */
export function openStore(config: DatabaseConfig, sqliteFile: string, application = 'vigil-server'): Sql {
  if (config.url) return new PostgresSql({ url: config.url, pool: config.pool, application });
  return new SqliteSql(openDatabase(sqliteFile));
}
