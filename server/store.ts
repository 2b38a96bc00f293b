import { AuditLog, type Param, type Sql, TokenStore } from '../core/index.ts';
import { HistoryRollups, Quarantine } from '../ingest/index.ts';
import { FindingStore, MaintenanceStore, RulesetStore, StateStore } from '../rules/index.ts';
import { CaseLibrary, ComplaintStore, FaultCatalog, FaultReportLog, KnowledgeStore, KpiAlerts, TicketStore, WebhookOutbox } from '../tickets/index.ts';

/**
 * Applies every migration of every area the server keeps in its store (the same ones the server
 * applies as it starts), on either engine. Two servers or a server and this running together apply
 * each once: PostgreSQL migrations run under an advisory lock.
 */
export async function migrateServerStore(sql: Sql): Promise<void> {
  const audit = await AuditLog.open(sql);
  await TokenStore.open(sql);
  await RulesetStore.open(sql, audit);
  await FindingStore.open(sql);
  await StateStore.open(sql);
  await MaintenanceStore.open(sql, audit);
  await HistoryRollups.open(sql);
  await Quarantine.open(sql);
  await TicketStore.open(sql);
  await WebhookOutbox.open(sql);
  await KpiAlerts.open(sql);
  await ComplaintStore.open(sql);
  await CaseLibrary.open(sql, new FaultCatalog());
  await KnowledgeStore.open(sql, {});
  await FaultReportLog.open(sql);
}

/**
 * Tables that belong to one server's own disk, not to the shared store: they are not copied. The case
 * library is derived from the tickets (with its own full-text index on each engine): the server files
 * the copied tickets again when it first starts on the new store.
 */
const LOCAL_TABLES = new Set(['schema_migration', 'sqlite_sequence', 'ticket_case']);
/** SQLite's full-text index of the cases and its shadow tables (ticket_case_text_data, ...). */
const CASE_TEXT = 'ticket_case_text';
const PAGE = 500;

export interface CopyReport {
  tables: { table: string; source: number; target: number }[];
  /** Tables of the SQLite file with no counterpart in the target store (the server keeps them on its own disk). */
  local: string[];
  ok: boolean;
}

/**
 * Copies a single server's SQLite store into an empty PostgreSQL store: both are brought to the
 * current schema, every shared table is copied row for row (ids kept, so links, webhook ids and
 * idempotency keys stay valid), id sequences are moved past the copied ids, and the row counts of
 * both sides are compared at the end.
 */
export async function copyStore(source: Sql, target: Sql, progress: (line: string) => void = () => undefined): Promise<CopyReport> {
  if (source.dialect !== 'sqlite' || target.dialect !== 'postgres') throw new Error('vigil db copy moves a SQLite store into PostgreSQL');
  await migrateServerStore(source);
  await migrateServerStore(target);
  const sourceTables = (await source.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name).filter((t) => !LOCAL_TABLES.has(t) && !t.startsWith(CASE_TEXT));
  const targetTables = new Set(
    (await target.all<{ name: string }>("SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition")).map((r) => r.name),
  );
  const shared = sourceTables.filter((t) => targetTables.has(t));
  const local = sourceTables.filter((t) => !targetTables.has(t));
  for (const t of shared) {
    const n = await target.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`);
    if ((n?.n ?? 0) > 0) throw new Error(`the target already holds rows in ${t}: copy into an empty database`);
  }

  await target.tx(async () => {
    for (const t of shared) {
      const sourceCols = (await source.all<{ name: string }>(`SELECT name FROM pragma_table_info('${t}')`)).map((c) => c.name);
      const targetCols = new Set((await target.all<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [t])).map((c) => c.name));
      const cols = sourceCols.filter((c) => targetCols.has(c));
      const quoted = cols.map((c) => `"${c}"`).join(', ');
      if (t === 'rollup_1m') await ensureMonths(source, target);
      let copied = 0;
      // Pages by rowid (or the key of a WITHOUT ROWID table), not OFFSET: each page is one index seek.
      const withoutRowid = !!(await source.get<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = ? AND sql LIKE '%WITHOUT ROWID%'", [t]));
      const order = withoutRowid ? (await source.all<{ name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info('${t}') WHERE pk > 0 ORDER BY pk`)).map((c) => `"${c.name}"`).join(', ') : 'rowid';
      for (let offset = 0; ; offset += PAGE) {
        const rows = await source.all<Record<string, Param>>(`SELECT ${quoted} FROM ${t} ORDER BY ${order} LIMIT ? OFFSET ?`, [PAGE, offset]);
        if (rows.length === 0) break;
        const args: Param[] = [];
        for (const r of rows) for (const c of cols) args.push(r[c] ?? null);
        await target.run(`INSERT INTO ${t} (${quoted}) VALUES ${rows.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}`, args);
        copied += rows.length;
        if (rows.length < PAGE) break;
      }
      // A serial column goes on from the largest copied id, so the next row does not reuse one.
      for (const c of cols) {
        const seq = await target.get<{ seq: string | null }>('SELECT pg_get_serial_sequence(?, ?) AS seq', [t, c]);
        if (seq?.seq) await target.get(`SELECT setval(?, GREATEST((SELECT COALESCE(MAX("${c}"), 0) FROM ${t}), 1))`, [seq.seq]);
      }
      progress(`${t}: ${copied} rows`);
    }
  });

  const tables: CopyReport['tables'] = [];
  for (const t of shared) {
    const s = (await source.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n;
    const d = (await target.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n;
    tables.push({ table: t, source: s, target: d });
  }
  return { tables, local, ok: tables.every((x) => x.source === x.target) };
}

/** The monthly partitions the copied history needs. */
async function ensureMonths(source: Sql, target: Sql): Promise<void> {
  const range = await source.get<{ lo: number | null; hi: number | null }>('SELECT MIN(minute) AS lo, MAX(minute) AS hi FROM rollup_1m');
  if (range?.lo === null || range?.lo === undefined || range.hi === null) return;
  await HistoryRollups.ensureMonths(target, range.lo, range.hi);
}
