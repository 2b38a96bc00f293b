import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../core/index.ts';
import { HistoryRollups } from '../../ingest/index.ts';
import { FindingStore } from '../../rules/index.ts';
import { TicketStore } from '../../tickets/index.ts';
import { type CliContext, dataDirOf, serverStoreOf } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { exportHelp } from '../help.ts';

type Row = Record<string, unknown>;

interface Table {
  /** CSV columns, in order: a name and how to get it from a row. */
  columns: [string, (r: Row) => unknown][];
  rows(from: number, to: number): Iterable<Row> | AsyncIterable<Row>;
}

const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : '');

/** A time on the command line: ISO 8601, epoch ms, or relative to now (`-7d`). */
export function parseTime(text: string, now: number): number | undefined {
  if (/^-\s*\d/.test(text)) {
    const d = parseDuration(text.slice(1));
    return d === undefined ? undefined : now - d;
  }
  if (/^\d{10,}$/.test(text)) return Number(text);
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export async function exportCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'csv' }, out: { type: 'string', short: 'o' } },
    allowPositionals: true,
    strict: true,
  });
  const what = positionals[0];
  const of = values.config && !values['data-dir'] ? dataDirOf(values.config, ctx.env) : undefined;
  const dataDir = values['data-dir'] ?? of?.dataDir;
  if (!what || !['readings', 'tickets', 'findings'].includes(what) || positionals.length !== 1 || !dataDir) {
    ctx.err(exportHelp);
    return EXIT.usage;
  }
  if (values.format !== 'csv' && values.format !== 'jsonl') {
    ctx.err(`--format is csv or jsonl, not ${values.format}`);
    return EXIT.usage;
  }
  const now = Date.now();
  const from = values.from === undefined ? 0 : parseTime(values.from, now);
  const to = values.to === undefined ? now + 1 : parseTime(values.to, now);
  if (from === undefined || to === undefined) {
    ctx.err(`--from/--to: ${from === undefined ? values.from : values.to} is not a time (use 2026-11-01, 2026-11-01T06:00Z, epoch ms or --from=-7d)`);
    return EXIT.usage;
  }
  if (!(from < to)) {
    ctx.err('--from must be before --to');
    return EXIT.usage;
  }
  const file = join(resolve(dataDir), 'server.db');
  if (!of?.databaseUrl && !existsSync(file)) {
    ctx.err(`vigil export: no ${file}; is ${dataDir} the data directory of a server that has run?`);
    return EXIT.noInput;
  }
  // A second connection beside the running server (SQLite WAL or PostgreSQL: its writes carry on while this one reads).
  const sql = serverStoreOf({ dataDir, databaseUrl: of?.databaseUrl });
  const tables: Record<string, () => Table | Promise<Table>> = {
    readings: async () => {
      const history = await HistoryRollups.open(sql);
      return {
        columns: [['minute', (r) => iso(r.minute)], ['site', (r) => r.site], ['device', (r) => r.deviceId], ['metric', (r) => r.metric], ['mean', (r) => r.mean], ['min', (r) => r.min], ['max', (r) => r.max], ['last', (r) => r.last], ['count', (r) => r.count]],
        rows: (f, t) => history.iterate({ from: f, to: t }) as AsyncIterable<Row>,
      };
    },
    tickets: async () => {
      const store = await TicketStore.open(sql);
      return {
        columns: [
          ['id', (r) => r.id], ['created', (r) => iso(r.createdAt)], ['site', (r) => r.site], ['device', (r) => r.deviceId], ['fault', (r) => r.fault], ['title', (r) => r.title],
          ['status', (r) => r.status], ['priority', (r) => r.priority], ['severity', (r) => r.severity], ['assignee', (r) => r.assignee], ['respond_by', (r) => iso(r.respondBy)],
          ['resolve_by', (r) => iso(r.resolveBy)], ['acknowledged', (r) => iso(r.acknowledgedAt)], ['resolved', (r) => iso(r.resolvedAt)], ['closed', (r) => iso(r.closedAt)],
          ['sla_breached', (r) => (r.slaBreached as string[]).join(' ')], ['outcome', (r) => r.outcome], ['rules', (r) => (r.rules as string[]).join(' ')], ['external_ref', (r) => r.externalRef],
          ['source', (r) => r.source], ['customer_noticed', (r) => r.customerNoticed], ['reports', (r) => (r.reports as unknown[]).length], ['visits', (r) => (r.visits as unknown[]).length],
          ['first_time_fix', (r) => r.firstTimeFix], ['accepted_by', (r) => (r.acceptance as { by: string } | null)?.by], ['score', (r) => (r.survey as { score: number } | null)?.score],
          ['nps', (r) => (r.survey as { nps: number | null } | null)?.nps], ['close_reason', (r) => r.closeReason],
        ],
        rows: (f, t) => store.iterate(f, t) as AsyncIterable<Row>,
      };
    },
    findings: async () => {
      const store = await FindingStore.open(sql);
      return {
        columns: [['id', (r) => r.id], ['at', (r) => iso(r.at)], ['site', (r) => r.site], ['device', (r) => r.deviceId], ['metric', (r) => r.metric], ['rule', (r) => r.ruleId], ['event', (r) => r.event], ['severity', (r) => r.severity], ['fault', (r) => r.fault], ['evidence', (r) => r.evidence]],
        rows: (f, t) => store.iterate(f, t) as AsyncIterable<Row>,
      };
    },
  };
  const out: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : process.stdout;
  let n = 0;
  try {
    const table = await tables[what]!();
    const write = async (line: string) => {
      // Rows are read one at a time and written as the reader takes them: memory stays flat at any size.
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    };
    if (values.format === 'csv') await write(table.columns.map(([name]) => name).join(','));
    for await (const r of table.rows(from, to)) {
      await write(values.format === 'csv' ? table.columns.map(([, get]) => csvField(get(r))).join(',') : JSON.stringify(r));
      n++;
    }
  } finally {
    await sql.close();
    if (values.out) await new Promise<void>((r) => out.end(() => r()));
  }
  if (values.out) ctx.err(`${n} ${what} written to ${values.out}`);
  return EXIT.ok;
}
