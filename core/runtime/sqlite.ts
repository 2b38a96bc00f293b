import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface OpenOptions {
  /**
   * `normal` (default): WAL with synchronous=NORMAL. A committed write survives a crash or SIGKILL of
   * the process; the last transactions may be lost if the machine loses power. `full` adds an fsync
   * per commit and survives power loss too, at several times the cost per write.
   */
  synchronous?: 'normal' | 'full';
  /**
   * Keep the WAL file near this size (checkpoint every so many bytes, truncate after): for files on
   * small disks whose size is measured per record, such as the gateway outbox. Default: SQLite's.
   */
  walBytes?: number;
  /**
   * Page cache of this connection (SQLite's default is 2 MB). The server's store takes more: per-minute
   * history inserts land all over its index, one row per series and minute, and at 100,000 series a
   * small cache turns each of them into page reads.
   */
  cacheBytes?: number;
}

/** Opens (creating if needed) one SQLite file in WAL mode (https://sqlite.org/wal.html). */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  if (opts.cacheBytes !== undefined) db.pragma(`cache_size = -${Math.floor(opts.cacheBytes / 1024)}`);
  if (opts.walBytes !== undefined) {
    db.pragma(`wal_autocheckpoint = ${Math.max(16, Math.floor(opts.walBytes / 4096))}`);
    db.pragma(`journal_size_limit = ${opts.walBytes}`);
  }
  return db;
}

/** A WHERE clause built from optional filters, with its arguments in order. */
export class Where {
  private readonly clauses: string[] = [];
  readonly args: (string | number)[] = [];

  /** Adds `clause` (with `?` placeholders for `args`) unless `when` is false. */
  add(clause: string, args: (string | number)[] = [], when = true): this {
    if (when) {
      this.clauses.push(clause);
      this.args.push(...args);
    }
    return this;
  }

  /** `column IN (...)` when `values` has any. */
  in(column: string, values: readonly (string | number)[] | undefined): this {
    return this.add(`${column} IN (${(values ?? []).map(() => '?').join(',')})`, [...(values ?? [])], (values?.length ?? 0) > 0);
  }

  /**
   * `column IN (...)` for a scope: undefined adds nothing (no scope), an empty set matches nothing.
   * Unlike {@link in}, an empty list must not widen into "no filter".
   */
  within(column: string, values: ReadonlySet<string> | undefined): this {
    if (values === undefined) return this;
    if (values.size === 0) return this.add('0 = 1');
    return this.add(`${column} IN (${[...values].map(() => '?').join(',')})`, [...values]);
  }

  toString(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}
