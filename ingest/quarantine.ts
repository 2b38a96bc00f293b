import { type Migration, type RejectCode, type Sql, migrateStore } from '../core/index.ts';

export interface QuarantineEntry {
  id: number;
  at: number;
  code: RejectCode;
  reason: string;
  site: string | null;
  gatewayId: string | null;
  topic: string | null;
  /** For a partly valid Envelope: each refused reading's reason and a copy of it. */
  details: { code: RejectCode; reason: string; item?: unknown }[];
  /** The start of the refused payload, for inspection. */
  payload: string | null;
}

export type NewQuarantineEntry = Omit<QuarantineEntry, 'id'>;

const PAYLOAD_KEPT = 2048;
const DETAILS_KEPT = 100;

const QUARANTINE_MIGRATIONS: Migration[] = [
  {
    id: 'quarantine/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS quarantine (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
      site TEXT, gateway_id TEXT, topic TEXT, details TEXT NOT NULL, payload TEXT)`,
    postgres: `CREATE TABLE IF NOT EXISTS quarantine (
      id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
      site TEXT, gateway_id TEXT, topic TEXT, details TEXT NOT NULL, payload TEXT);
      CREATE INDEX IF NOT EXISTS quarantine_code ON quarantine (code, id);`,
  },
];

/**
 * Dead-letter store: every refused Envelope, reading batch or TSDB write is kept with its reason so an
 * operator can see what a sensor or gateway sends wrong. Bounded: the newest `keep` entries stay.
 * Entries are written in the order they come, behind the intake (which does not wait on them); a
 * list waits for the ones already added.
 */
export class Quarantine {
  private inserts = 0;
  private written: Promise<void> = Promise.resolve();

  private constructor(
    private readonly sql: Sql,
    private readonly keep: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  static async open(sql: Sql, opts: { keep?: number; onError?: (err: unknown) => void } = {}): Promise<Quarantine> {
    await migrateStore(sql, QUARANTINE_MIGRATIONS);
    return new Quarantine(sql, opts.keep ?? 10_000, opts.onError ?? (() => undefined));
  }

  /** `keepPayload`: how much of the payload to keep (more than the default when it is data to recover). */
  add(e: NewQuarantineEntry, keepPayload = PAYLOAD_KEPT): void {
    const payload = e.payload === null ? null : e.payload.slice(0, keepPayload);
    const details = JSON.stringify(e.details.slice(0, DETAILS_KEPT), (_k, v: unknown) => (typeof v === 'string' ? v.slice(0, 500) : v));
    const prune = ++this.inserts % 500 === 0;
    this.written = this.written.then(async () => {
      try {
        await this.sql.run('INSERT INTO quarantine (at, code, reason, site, gateway_id, topic, details, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
          e.at,
          e.code,
          e.reason.slice(0, 1000),
          e.site,
          e.gatewayId,
          e.topic,
          details,
          payload,
        ]);
        if (prune) await this.sql.run('DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?', [this.keep]);
      } catch (err) {
        this.onError(err);
      }
    });
  }

  async list(opts: { limit: number; offset: number; code?: string | undefined }): Promise<{ total: number; items: QuarantineEntry[] }> {
    await this.written;
    const w = opts.code === undefined ? '' : 'WHERE code = ?';
    const codeArg = opts.code === undefined ? [] : [opts.code];
    const rows = await this.sql.all<Omit<QuarantineEntry, 'details'> & { details: string }>(
      `SELECT id, at, code, reason, site, gateway_id AS "gatewayId", topic, details, payload FROM quarantine ${w} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...codeArg, opts.limit, opts.offset],
    );
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM quarantine ${w}`, codeArg))!.n;
    return { total, items: rows.map((r) => ({ ...r, details: JSON.parse(r.details) as QuarantineEntry['details'] })) };
  }
}
