import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { Param, Sql } from './sql.ts';

export interface PostgresOptions {
  url: string;
  /** Connections in the pool (each server process holds its own pool). */
  pool: number;
  /** `application_name`, so a DBA sees which server holds a connection. */
  application?: string;
}

// BIGINT (epoch ms, counts) and NUMERIC come back as strings by default; every value Vigil keeps
// in them is a safe integer or a plain decimal, so read them as numbers, on this pool only.
const NUMERIC_OIDS = new Set([20, 1700]);
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (NUMERIC_OIDS.has(oid) && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** `?` placeholders (the portable form) to PostgreSQL's `$1, $2, …`, leaving quoted text alone. */
export function numbered(sql: string): string {
  if (!sql.includes('?')) return sql;
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += `$${++n}`;
    else out += ch;
  }
  return out;
}

type Client = pg.PoolClient;

/**
 * The shared engine: a pool of `pg` connections. A transaction takes one connection for its
 * duration; queries on its async path use that connection (async context), all others the pool.
 */
export class PostgresSql implements Sql {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly ctx = new AsyncLocalStorage<Client>();
  private readonly texts = new Map<string, string>();

  constructor(readonly options: PostgresOptions) {
    this.pool = new pg.Pool({ connectionString: options.url, max: options.pool, types, application_name: options.application ?? 'vigil' });
    // An idle connection that the server drops (restart, failover) must not crash the process;
    // the pool replaces it on the next query.
    this.pool.on('error', () => undefined);
  }

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      t = numbered(sql);
      if (this.texts.size > 1000) this.texts.clear();
      this.texts.set(sql, t);
    }
    return t;
  }

  private async query<T>(sql: string, args: readonly Param[]): Promise<{ rows: T[]; rowCount: number }> {
    const on = this.ctx.getStore() ?? this.pool;
    const r = await on.query({ text: this.text(sql), values: args as unknown[] });
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async all<T>(sql: string, args: readonly Param[] = []): Promise<T[]> {
    return (await this.query<T>(sql, args)).rows;
  }

  async get<T>(sql: string, args: readonly Param[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, args)).rows[0];
  }

  async run(sql: string, args: readonly Param[] = []): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, args)).rowCount };
  }

  async exec(sql: string): Promise<void> {
    const on = this.ctx.getStore() ?? this.pool;
    await on.query(sql);
  }

  inTx(): boolean {
    return this.ctx.getStore() !== undefined;
  }

  async tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTx()) return fn();
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      try {
        const out = await this.ctx.run(client, fn);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
        throw err;
      }
    } finally {
      // A connection whose rollback failed is in an unknown state: the pool closes it.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /**
   * Calls `fn` with each payload NOTIFY'd on `channel`, on a connection of its own that comes back
   * after the server drops it; returns a function that stops listening.
   */
  async listen(channel: string, fn: (payload: string) => void, onState?: (up: boolean) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.options.url, application_name: `${this.options.application ?? 'vigil'}-listen` });
      c.on('notification', (m) => {
        if (m.channel === channel && m.payload !== undefined) fn(m.payload);
      });
      const again = () => {
        if (stopped || client !== c) return;
        client = undefined;
        onState?.(false);
        c.end().catch(() => undefined);
        timer = setTimeout(() => void connect().catch(again), 1000);
      };
      c.on('error', again);
      c.on('end', again);
      client = c;
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      onState?.(true);
    };
    await connect();
    return async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.run('SELECT pg_notify(?, ?)', [channel, payload]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
