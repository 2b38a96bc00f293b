import pg from 'pg';
import type { PostgresSql } from './postgres.ts';
import type { Sql } from './sql.ts';

/**
 * Decides which one of several servers on a shared store does a job that must run once (the SLA
 * clock's breach checks). `acquire()` is asked before each round: true while this server holds the job.
 */
export interface SingleRunner {
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** One server on its own store: it always runs the job. */
export const ALWAYS: SingleRunner = { acquire: async () => true, release: async () => undefined };

/**
 * A PostgreSQL session advisory lock on a connection of its own. The lock lives as long as that
 * connection: when its server dies (or the connection drops), PostgreSQL releases it and the next
 * server to ask takes the job over, within one round of its timer.
 */
export class AdvisoryLock implements SingleRunner {
  private client: pg.Client | undefined;
  private held = false;

  constructor(
    private readonly url: string,
    private readonly key: number,
    private readonly application = 'vigil-lock',
  ) {}

  async acquire(): Promise<boolean> {
    try {
      if (!this.client) {
        const c = new pg.Client({ connectionString: this.url, application_name: this.application });
        const lost = () => {
          if (this.client === c) {
            this.client = undefined;
            this.held = false;
          }
        };
        c.on('error', lost);
        c.on('end', lost);
        await c.connect();
        this.client = c;
      }
      if (this.held) return true;
      const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
      this.held = r.rows[0]?.ok === true;
      return this.held;
    } catch {
      const c = this.client;
      this.client = undefined;
      this.held = false;
      await c?.end().catch(() => undefined);
      return false;
    }
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.held = false;
    await c?.end().catch(() => undefined);
  }
}

/** Lock ids of the jobs that run on one server at a time. */
export const LOCKS = { slaClock: 0x76_73_6c_61 } as const;

/** The runner of a job for a store: always this server on SQLite, an advisory lock on PostgreSQL. */
export function singleRunner(sql: Sql, key: number, application?: string): SingleRunner {
  if (sql.dialect === 'sqlite') return ALWAYS;
  return new AdvisoryLock((sql as PostgresSql).options.url, key, application);
}
