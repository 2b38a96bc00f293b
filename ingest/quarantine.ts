import { migrate } from '../core/index.ts';
import type { Db, RejectCode } from '../core/index.ts';

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

/**
 * Dead-letter store: every refused Envelope, reading batch or TSDB write is kept with its reason so an
 * operator can see what a sensor or gateway sends wrong. Bounded: the newest `keep` entries stay.
 */
export class Quarantine {
  private readonly stmt;
  private inserts = 0;

  constructor(
    private readonly db: Db,
    private readonly keep = 10_000,
  ) {
    migrate(db, [{ id: 'quarantine/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS quarantine (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
      site TEXT, gateway_id TEXT, topic TEXT, details TEXT NOT NULL, payload TEXT)` }]);
    this.stmt = {
      insert: db.prepare('INSERT INTO quarantine (at, code, reason, site, gateway_id, topic, details, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      list: db.prepare(
        'SELECT id, at, code, reason, site, gateway_id AS gatewayId, topic, details, payload FROM quarantine WHERE (? IS NULL OR code = ?) ORDER BY id DESC LIMIT ? OFFSET ?',
      ),
      count: db.prepare('SELECT count(*) AS n FROM quarantine WHERE (? IS NULL OR code = ?)'),
      prune: db.prepare('DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?'),
    };
  }

  /** `keepPayload`: how much of the payload to keep (more than the default when it is data to recover). */
  add(e: NewQuarantineEntry, keepPayload = PAYLOAD_KEPT): void {
    const payload = e.payload === null ? null : e.payload.slice(0, keepPayload);
    const details = JSON.stringify(e.details.slice(0, DETAILS_KEPT), (_k, v: unknown) => (typeof v === 'string' ? v.slice(0, 500) : v));
    this.stmt.insert.run(e.at, e.code, e.reason.slice(0, 1000), e.site, e.gatewayId, e.topic, details, payload);
    if (++this.inserts % 500 === 0) this.stmt.prune.run(this.keep);
  }

  list(opts: { limit: number; offset: number; code?: string | undefined }): { total: number; items: QuarantineEntry[] } {
    const code = opts.code ?? null;
    const rows = this.stmt.list.all(code, code, opts.limit, opts.offset) as (Omit<QuarantineEntry, 'details'> & { details: string })[];
    const total = (this.stmt.count.get(code, code) as { n: number }).n;
    return { total, items: rows.map((r) => ({ ...r, details: JSON.parse(r.details) as QuarantineEntry['details'] })) };
  }
}
