import { AsyncLocalStorage } from 'node:async_hooks';
import type { Statement as Statement_ } from 'better-sqlite3';
import type { Db } from '../runtime/sqlite.ts';
import type { Param, Sql } from './sql.ts';

type Statement = Statement_<unknown[]>;

/**
 * The embedded engine: better-sqlite3 (synchronous, one connection) behind the async interface.
 * Statements are prepared once per text. One transaction runs at a time; a query from outside it
 * waits for its end rather than landing inside it.
 */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  private readonly stmts = new Map<string, Statement>();
  private readonly ctx = new AsyncLocalStorage<true>();
  /** Settles when the transaction running now (if any) ends; transactions queue on it. */
  private gate: Promise<void> = Promise.resolve();
  /** Settles when every transaction begun so far has ended; the next one waits on it. */
  private queue: Promise<void> = Promise.resolve();
  private open = false;

  constructor(readonly db: Db) {}

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(sql);
      if (this.stmts.size > 500) this.stmts.clear();
      this.stmts.set(sql, s);
    }
    return s;
  }

  // Checked right before each statement runs, in the same turn: a query from outside a transaction
  // must not run while one is open (it would land inside it), nor in a gap between the check and the run.
  private blocked(): boolean {
    return this.open && this.ctx.getStore() === undefined;
  }

  async all<T>(sql: string, args: readonly Param[] = []): Promise<T[]> {
    while (this.blocked()) await this.gate;
    return this.stmt(sql).all(...args) as T[];
  }

  async get<T>(sql: string, args: readonly Param[] = []): Promise<T | undefined> {
    while (this.blocked()) await this.gate;
    const s = this.stmt(sql);
    return (s.reader ? s.get(...args) : (s.run(...args), undefined)) as T | undefined;
  }

  async run(sql: string, args: readonly Param[] = []): Promise<{ changes: number }> {
    while (this.blocked()) await this.gate;
    return { changes: this.stmt(sql).run(...args).changes };
  }

  async exec(sql: string): Promise<void> {
    while (this.blocked()) await this.gate;
    this.db.exec(sql);
  }

  inTx(): boolean {
    return this.ctx.getStore() !== undefined;
  }

  async tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTx()) return fn();
    // Transactions queue in order, each behind the one before: with thousands waiting, one wakes
    // when its turn comes instead of all of them at every end.
    const before = this.queue;
    let done!: () => void;
    this.queue = new Promise((r) => (done = r));
    await before;
    this.open = true;
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await this.ctx.run(true, fn);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.open = false;
      release();
      done();
    }
  }

  async close(): Promise<void> {
    this.stmts.clear();
    if (this.db.open) this.db.close();
  }
}
