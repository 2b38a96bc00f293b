/** A value bound to a `?` placeholder. Booleans are stored as 0/1 on both engines. */
export type Param = string | number | bigint | null | Buffer;

/** What both engines run: portable SQL with `?` placeholders. */
export interface Queryable {
  all<T>(sql: string, args?: readonly Param[]): Promise<T[]>;
  get<T>(sql: string, args?: readonly Param[]): Promise<T | undefined>;
  /** A statement that returns no rows; `changes` is the number of rows it touched. */
  run(sql: string, args?: readonly Param[]): Promise<{ changes: number }>;
  /** Several statements without parameters (a migration). */
  exec(sql: string): Promise<void>;
}

export type Dialect = 'sqlite' | 'postgres';

/**
 * The server's store: SQLite (one file, the embedded default) or PostgreSQL (shared by many servers).
 *
 * `tx(fn)` runs `fn` in one transaction. Every query made while `fn` runs, by any code on its async
 * path, joins that transaction (the store carries it in async context), so stores call the same
 * methods inside and outside one and a ticket, its history entry and its deliveries commit together.
 * A body must not wait on anything but the store: on SQLite a transaction holds the one connection.
 */
export interface Sql extends Queryable {
  readonly dialect: Dialect;
  tx<T>(fn: () => Promise<T>): Promise<T>;
  /** True while the calling code runs inside `tx`. */
  inTx(): boolean;
  close(): Promise<void>;
}

/** A unique index refused a row (two writers raced for the same key). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * A write lost a race it cannot win by waiting: the row changed since it was read (a version moved
 * on), or PostgreSQL chose this transaction to break a deadlock or a serialization conflict.
 * `Sql.tx` callers that re-read before writing retry these.
 */
export class Conflict extends Error {
  constructor(message = 'the row changed meanwhile') {
    super(message);
    this.name = 'Conflict';
  }
}

export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Conflict || code === '40001' || code === '40P01';
}

/**
 * Runs `fn` in a transaction, again when it loses a race ({@link isRetryable}), up to `attempts`
 * times: for writes that read first and may find the row changed by another server.
 */
export async function retrying<T>(sql: Sql, fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await sql.tx(fn);
    } catch (err) {
      if (i >= attempts || !isRetryable(err) || sql.inTx()) throw err;
    }
  }
}

/**
 * ` FOR UPDATE` on PostgreSQL inside a transaction (the row is held until it commits, so a
 * read-modify-write on another server waits instead of overwriting); nothing on SQLite, whose
 * transactions hold the whole file.
 */
export function forUpdate(sql: Sql, when = true): string {
  return when && sql.dialect === 'postgres' && sql.inTx() ? ' FOR UPDATE' : '';
}
