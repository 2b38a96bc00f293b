import { csv } from './csv.ts';
import { z } from 'zod';
import { type Migration, type Param, type Sql, migrateStore } from '../core/index.ts';
import type { TicketPolicy } from './policy.ts';

export const KpiGroupSchema = z.enum(['site', 'region', 'group', 'customer', 'equipment', 'source']);
export type KpiGroup = z.infer<typeof KpiGroupSchema>;
export const KpiIntervalSchema = z.enum(['week', 'month']);
export type KpiInterval = z.infer<typeof KpiIntervalSchema>;

const share = z.number().min(0).max(1).nullable();
const count = z.number().int().nonnegative();
/** One group in one period. A figure with nothing to count is null, never 0. */
export const KpiRowSchema = z.strictObject({
  group: z.string(),
  /** `2026-01` for a month; the Monday (UTC) that starts it, `2026-01-05`, for a week. */
  period: z.string(),
  periodStart: z.number().int(),
  opened: count,
  response: z.strictObject({
    /** Tickets acknowledged by a person. */
    responded: count,
    meanMinutes: z.number().nullable(),
    /** The first step of RESPONSE_LADDER at or above the 90th percentile, in minutes (null past 30 days). */
    p90Minutes: z.number().nullable(),
    /** Acknowledged by the response deadline, over those acknowledged or past it. */
    withinSla: share,
  }),
  firstTimeFix: z.strictObject({ judged: count, rate: share }),
  /** Resolved by the resolution deadline, over those resolved or past it. */
  resolution: z.strictObject({ due: count, rate: share }),
  satisfaction: z.strictObject({
    answered: count,
    /** Answers of 4 or 5, over all answers. */
    rate: share,
    /** Answers over answers plus return visits closed with no answer. */
    answerRate: share,
  }),
  nps: z.strictObject({ answered: count, score: z.number().min(-100).max(100).nullable() }),
  /** Mean time to restoration: opening to resolution, over resolved tickets, in hours. */
  mttrHours: z.number().nullable(),
  /** Raised by a rule before any customer report: `predicted` tickets no customer joined. */
  predictedShare: share,
  /** Complaints registered in the period, per 100 tickets opened, and the share that repeated an earlier one; null grouped by source. */
  complaints: z.strictObject({ count: count, per100Tickets: z.number().nullable(), repeatRate: share }).nullable(),
  belowTarget: z.array(z.enum(['response', 'firstTimeFix', 'resolution', 'satisfaction'])),
});
export type KpiRow = z.infer<typeof KpiRowSchema>;

const COLUMN: Record<KpiGroup, string> = { site: 'site', region: 'region', group: 'grp', customer: 'customer', equipment: 'equipment', source: 'source' };
const DAY = 86_400_000;

/**
 * Response times are counted against this ladder of minutes: p90 is reported as the first step at or
 * above the true 90th percentile (exact below 6 minutes, within 5 minutes up to an hour). Counting
 * against fixed steps keeps the figures additive, so a year of tickets is a sum over days.
 */
export const RESPONSE_LADDER = [1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 75, 90, 105, 120, 150, 180, 240, 300, 360, 480, 720, 1440, 2880, 4320, 10080, 20160, 43200] as const;
const LADDER_COLUMNS = RESPONSE_LADDER.map((m) => `r${m}`);

/** What the store writes per ticket into `ticket_kpi`. */
export interface KpiTicketRow {
  id: number;
  openedAt: number;
  week: number;
  month: string;
  site: string;
  region: string;
  grp: string;
  customer: string;
  equipment: string;
  source: string;
  status: string;
  predictedFirst: 0 | 1;
  responseMs: number | null;
  respondBy: number;
  resolveBy: number;
  resolvedAt: number | null;
  firstFix: 0 | 1 | null;
  score: number | null;
  nps: number | null;
  closeReason: string | null;
}

const COUNTERS = ['opened', 'responded', 'resp_sum', 'resp_in', 'ff_n', 'ff_yes', 'resolved', 'res_in', 'mttr_sum', 'answered', 'satisfied', 'unanswered', 'nps_n', 'promoters', 'detractors', 'predicted_first', ...LADDER_COLUMNS] as const;
const DIMS = ['site', 'region', 'grp', 'customer', 'equipment', 'source'] as const;

const KPI_ROW_FIELDS = ['id', 'openedAt', 'week', 'month', 'site', 'region', 'grp', 'customer', 'equipment', 'source', 'status', 'predictedFirst', 'responseMs', 'respondBy', 'resolveBy', 'resolvedAt', 'firstFix', 'score', 'nps', 'closeReason'] as const;
const KPI_COLUMNS = ['ticket_id', 'opened_at', 'week', 'month', 'site', 'region', 'grp', 'customer', 'equipment', 'source', 'status', 'predicted_first', 'response_ms', 'respond_by', 'resolve_by', 'resolved_at', 'first_fix', 'score', 'nps', 'close_reason'] as const;

const KPI_MIGRATIONS: Migration[] = [
  {
    id: 'ticket-kpis/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS ticket_kpi (ticket_id INTEGER PRIMARY KEY, opened_at INTEGER NOT NULL, week INTEGER NOT NULL, month TEXT NOT NULL,
        site TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, customer TEXT NOT NULL, equipment TEXT NOT NULL, source TEXT NOT NULL,
        status TEXT NOT NULL, predicted_first INTEGER NOT NULL, response_ms INTEGER, respond_by INTEGER NOT NULL,
        resolve_by INTEGER NOT NULL, resolved_at INTEGER, first_fix INTEGER, score INTEGER, nps INTEGER, close_reason TEXT);
      CREATE INDEX IF NOT EXISTS ticket_kpi_unresponded ON ticket_kpi (opened_at) WHERE response_ms IS NULL;
      CREATE INDEX IF NOT EXISTS ticket_kpi_unresolved ON ticket_kpi (opened_at) WHERE resolved_at IS NULL;
      CREATE INDEX IF NOT EXISTS ticket_kpi_awaiting_answer ON ticket_kpi (resolved_at) WHERE status IN ('resolved', 'accepted');
      CREATE TABLE IF NOT EXISTS kpi_cell (week INTEGER NOT NULL, month TEXT NOT NULL, ${DIMS.map((d) => `${d} TEXT NOT NULL`).join(', ')},
        ${COUNTERS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
        PRIMARY KEY (week, month, ${DIMS.join(', ')})) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS kpi_cell_month ON kpi_cell (month);`,
    postgres: `CREATE TABLE ticket_kpi (ticket_id BIGINT PRIMARY KEY, opened_at BIGINT NOT NULL, week BIGINT NOT NULL, month TEXT NOT NULL,
        site TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, customer TEXT NOT NULL, equipment TEXT NOT NULL, source TEXT NOT NULL,
        status TEXT NOT NULL, predicted_first INTEGER NOT NULL, response_ms BIGINT, respond_by BIGINT NOT NULL,
        resolve_by BIGINT NOT NULL, resolved_at BIGINT, first_fix INTEGER, score INTEGER, nps INTEGER, close_reason TEXT);
      CREATE INDEX ticket_kpi_unresponded ON ticket_kpi (opened_at) WHERE response_ms IS NULL;
      CREATE INDEX ticket_kpi_unresolved ON ticket_kpi (opened_at) WHERE resolved_at IS NULL;
      CREATE INDEX ticket_kpi_awaiting_answer ON ticket_kpi (resolved_at) WHERE status IN ('resolved', 'accepted');
      CREATE TABLE kpi_cell (week BIGINT NOT NULL, month TEXT NOT NULL, ${DIMS.map((d) => `${d} TEXT NOT NULL`).join(', ')},
        ${COUNTERS.map((c) => `${c} BIGINT NOT NULL`).join(', ')},
        PRIMARY KEY (week, month, ${DIMS.join(', ')}));
      CREATE INDEX kpi_cell_month ON kpi_cell (month);`,
  },
];

/**
 * The KPI tables: `ticket_kpi`, one row per ticket (the numbers the figures need, in columns), and
 * `kpi_cell`, their sums per group and cell (the days a week and a month share, UTC), kept in step by
 * {@link KpiWriter} on every save. The figures read `kpi_cell`, a few rows per group and week however
 * many tickets there are; only the counts that depend on the moment of asking (deadlines passed by
 * now) read tickets, through partial indexes over the few still waiting.
 */
export class KpiWriter {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<KpiWriter> {
    await migrateStore(sql, KPI_MIGRATIONS);
    return new KpiWriter(sql);
  }

  /** Replaces a ticket's row and moves its sums from what it counted before to what it counts now. */
  async put(row: KpiTicketRow): Promise<void> {
    const old = await this.get(row.id);
    // Most saves (a finding repeating, a comment) change nothing the figures count.
    if (old && (Object.keys(row) as (keyof KpiTicketRow)[]).every((k) => old[k] === row[k])) return;
    if (old) await this.add(old, -1);
    await this.add(row, 1);
    await this.sql.run(
      `INSERT INTO ticket_kpi VALUES (${KPI_ROW_FIELDS.map(() => '?').join(', ')}) ON CONFLICT (ticket_id) DO UPDATE SET ${KPI_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      KPI_ROW_FIELDS.map((k) => row[k]),
    );
  }

  // Named as the writer names them, so a stored row compares field by field with a new one.
  private get(id: number): Promise<KpiTicketRow | undefined> {
    return this.sql.get<KpiTicketRow>(
      `SELECT ticket_id AS "id", opened_at AS "openedAt", week, month, site, region, grp, customer, equipment, source,
        status, predicted_first AS "predictedFirst", response_ms AS "responseMs", respond_by AS "respondBy", resolve_by AS "resolveBy", resolved_at AS "resolvedAt",
        first_fix AS "firstFix", score, nps, close_reason AS "closeReason" FROM ticket_kpi WHERE ticket_id = ?`,
      [id],
    );
  }

  async has(id: number): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  private async add(r: KpiTicketRow, sign: 1 | -1): Promise<void> {
    const responded = r.responseMs !== null;
    const minutes = responded ? r.responseMs! / 60_000 : Infinity;
    const values = [
      1,
      responded ? 1 : 0,
      r.responseMs ?? 0,
      responded && r.openedAt + r.responseMs! <= r.respondBy ? 1 : 0,
      r.firstFix !== null ? 1 : 0,
      r.firstFix === 1 ? 1 : 0,
      r.resolvedAt !== null ? 1 : 0,
      r.resolvedAt !== null && r.resolvedAt <= r.resolveBy ? 1 : 0,
      r.resolvedAt !== null ? r.resolvedAt - r.openedAt : 0,
      r.score !== null ? 1 : 0,
      r.score !== null && r.score >= 4 ? 1 : 0,
      r.closeReason === 'no_response' ? 1 : 0,
      r.nps !== null ? 1 : 0,
      r.nps !== null && r.nps >= 9 ? 1 : 0,
      r.nps !== null && r.nps <= 6 ? 1 : 0,
      r.predictedFirst,
      ...RESPONSE_LADDER.map((m) => (minutes <= m ? 1 : 0)),
    ];
    await this.sql.run(
      `INSERT INTO kpi_cell (week, month, ${DIMS.join(', ')}, ${COUNTERS.join(', ')}) VALUES (${['week', 'month', ...DIMS, ...COUNTERS].map(() => '?').join(', ')})
        ON CONFLICT (week, month, ${DIMS.join(', ')}) DO UPDATE SET ${COUNTERS.map((c) => `${c} = kpi_cell.${c} + excluded.${c}`).join(', ')}`,
      [r.week, r.month, r.site, r.region, r.grp, r.customer, r.equipment, r.source, ...values.map((v) => v * sign)],
    );
  }
}

export interface KpiQuery {
  /** Rounded down to the start of its week or month. */
  from: number;
  /** Rounded up to the end of its week or month. */
  to: number;
  groupBy: KpiGroup;
  interval: KpiInterval;
  /** Deadlines up to this instant count as due. */
  asOf: number;
  /** Only tickets of these sites (a token's scope). */
  sites?: ReadonlySet<string> | undefined;
}

function complaintFigures(c: { n: number; repeats: number } | undefined, opened: number): KpiRow['complaints'] {
  const n = c?.n ?? 0;
  return { count: n, per100Tickets: opened > 0 ? (100 * n) / opened : null, repeatRate: n > 0 ? (c?.repeats ?? 0) / n : null };
}

/** Monday 00:00 UTC of the week of `t`. */
export function weekStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
}

/** The whole periods a query covers: a KPI row is always a whole week or a whole month. */
export function kpiPeriods(from: number, to: number, interval: KpiInterval): { from: number; to: number } {
  if (interval === 'week') {
    const end = weekStart(to - 1);
    return { from: weekStart(from), to: end + 7 * DAY };
  }
  const f = new Date(from);
  const l = new Date(to - 1);
  return { from: Date.UTC(f.getUTCFullYear(), f.getUTCMonth(), 1), to: Date.UTC(l.getUTCFullYear(), l.getUTCMonth() + 1, 1) };
}

type Counter = 'opened' | 'responded' | 'resp_sum' | 'resp_in' | 'ff_n' | 'ff_yes' | 'resolved' | 'res_in' | 'mttr_sum' | 'answered' | 'satisfied' | 'unanswered' | 'nps_n' | 'promoters' | 'detractors' | 'predicted_first';
type Sums = { g: string; b: string | number } & Record<Counter, number> & Partial<Record<`r${number}`, number>>;

/**
 * The desk's figures per group and period over the tickets opened in the whole weeks or months that
 * [from, to) touches: sums of `kpi_cell`, plus, per group, the tickets still unanswered or unresolved
 * past their deadline as of `asOf`.
 */
export async function computeKpis(sql: Sql, q: KpiQuery, targets: TicketPolicy['targets']): Promise<KpiRow[]> {
  const g = COLUMN[q.groupBy];
  const b = q.interval === 'week' ? 'week' : 'month';
  const { from, to } = kpiPeriods(q.from, q.to, q.interval);
  const scope = q.sites ? [...q.sites] : undefined;
  const inScope = scope ? ` AND site IN (${scope.map(() => '?').join(', ') || "''"})` : '';
  const scopeArgs: Param[] = scope ?? [];
  const cells = q.interval === 'week' ? 'week >= ? AND week < ?' : 'month >= ? AND month < ?';
  const cellArgs: Param[] = q.interval === 'week' ? [from, to] : [new Date(from).toISOString().slice(0, 7), new Date(to).toISOString().slice(0, 7)];
  const sums = await sql.all<Sums>(`SELECT ${g} AS g, ${b} AS b, ${COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM kpi_cell WHERE ${cells}${inScope} GROUP BY ${g}, ${b} ORDER BY ${g}, ${b}`, [...cellArgs, ...scopeArgs]);
  const late = async (where: string) => {
    const m = new Map<string, number>();
    const rows = await sql.all<{ g: string; b: string | number; n: number }>(`SELECT ${g} AS g, ${b} AS b, COUNT(*) AS n FROM ticket_kpi WHERE opened_at >= ? AND opened_at < ? AND ${where}${inScope} GROUP BY ${g}, ${b}`, [from, to, q.asOf, ...scopeArgs]);
    for (const r of rows) m.set(`${r.g}\u0000${r.b}`, r.n);
    return m;
  };
  // Complaints have no source: grouped by it, they are not counted.
  const complaints = new Map<string, { n: number; repeats: number }>();
  // The complaint table is the complaint desk's: created with the ticket manager, it may not exist in
  // a database opened for the KPIs alone.
  if (q.groupBy !== 'source' && (await hasTable(sql, 'complaint'))) {
    const rows = await sql.all<{ g: string; b: string | number; n: number; repeats: number }>(`SELECT ${g} AS g, ${b} AS b, COUNT(*) AS n, SUM(repeat) AS repeats FROM complaint WHERE created_at >= ? AND created_at < ?${inScope} GROUP BY ${g}, ${b}`, [from, to, ...scopeArgs]);
    for (const r of rows) complaints.set(`${r.g}\u0000${r.b}`, r);
  }
  const unresponded = await late('response_ms IS NULL AND respond_by <= ?');
  const unresolved = await late('resolved_at IS NULL AND resolve_by <= ?');
  return sums.flatMap((a) => {
    // A ticket that moved to another group leaves its old cell at zero.
    if (a.opened === 0) return [];
    const key = `${a.g}\u0000${a.b}`;
    const ratio = (n: number, d: number) => (d > 0 ? n / d : null);
    const respDue = a.responded + (unresponded.get(key) ?? 0);
    const resDue = a.resolved + (unresolved.get(key) ?? 0);
    const p90 = a.responded > 0 ? (RESPONSE_LADDER.find((m) => (a[`r${m}`] ?? 0) >= Math.ceil(0.9 * a.responded)) ?? null) : null;
    const row: KpiRow = {
      group: a.g === '' ? '(none)' : a.g,
      period: typeof a.b === 'number' ? new Date(a.b).toISOString().slice(0, 10) : a.b,
      periodStart: typeof a.b === 'number' ? a.b : Date.parse(`${a.b}-01T00:00:00Z`),
      opened: a.opened,
      response: { responded: a.responded, meanMinutes: a.responded > 0 ? a.resp_sum / a.responded / 60_000 : null, p90Minutes: p90, withinSla: ratio(a.resp_in, respDue) },
      firstTimeFix: { judged: a.ff_n, rate: ratio(a.ff_yes, a.ff_n) },
      resolution: { due: resDue, rate: ratio(a.res_in, resDue) },
      satisfaction: { answered: a.answered, rate: ratio(a.satisfied, a.answered), answerRate: ratio(a.answered, a.answered + a.unanswered) },
      nps: { answered: a.nps_n, score: a.nps_n > 0 ? (100 * (a.promoters - a.detractors)) / a.nps_n : null },
      mttrHours: a.resolved > 0 ? a.mttr_sum / a.resolved / 3_600_000 : null,
      predictedShare: ratio(a.predicted_first, a.opened),
      complaints: q.groupBy === 'source' ? null : complaintFigures(complaints.get(key), a.opened),
      belowTarget: [],
    };
    if (row.response.meanMinutes !== null && row.response.meanMinutes > targets.responseMinutes) row.belowTarget.push('response');
    if (row.firstTimeFix.rate !== null && row.firstTimeFix.rate < targets.firstTimeFix) row.belowTarget.push('firstTimeFix');
    if (row.resolution.rate !== null && row.resolution.rate < targets.resolution) row.belowTarget.push('resolution');
    if (row.satisfaction.rate !== null && row.satisfaction.rate < targets.satisfaction) row.belowTarget.push('satisfaction');
    return [row];
  });
}

/** Published bands to read the desk's own figures against. */
export const INDUSTRY_BANDS = {
  firstTimeFix: { average: [0.75, 0.8], bestInClass: 0.88, source: 'Aberdeen Group, field service benchmarks' },
} as const;

const CSV_COLUMNS = [
  'group', 'period', 'opened', 'response_mean_min', 'response_p90_min', 'response_within_sla', 'first_time_fix', 'first_time_fix_judged',
  'resolution_rate', 'resolution_due', 'satisfaction', 'satisfaction_answered', 'answer_rate', 'nps', 'mttr_h', 'predicted_share', 'complaints',
  'complaints_per_100_tickets', 'repeat_complaint_rate', 'below_target',
] as const;

/** The KPI table as CSV (RFC 4180), one line per group and period; empty cells where a figure is null. */
export function kpiCsv(rows: readonly KpiRow[]): string {
  return csv(
    CSV_COLUMNS,
    rows.map((r) => [
      r.group, r.period, r.opened, r.response.meanMinutes, r.response.p90Minutes, r.response.withinSla, r.firstTimeFix.rate, r.firstTimeFix.judged,
      r.resolution.rate, r.resolution.due, r.satisfaction.rate, r.satisfaction.answered, r.satisfaction.answerRate, r.nps.score, r.mttrHours, r.predictedShare, r.complaints?.count ?? null,
      r.complaints?.per100Tickets ?? null, r.complaints?.repeatRate ?? null, r.belowTarget.join(' '),
    ]),
  );
}

export interface KpiAlert {
  id: number;
  groupBy: string;
  group: string;
  period: string;
  kpi: string;
  value: number;
  target: number;
  at: number;
}

/** The `kpi.below_target` events raised, one per month, grouping, group and figure. */
export class KpiAlerts {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<KpiAlerts> {
    await migrateStore(sql, [
      {
        id: 'kpi-alerts/001-initial',
        sqlite: `CREATE TABLE IF NOT EXISTS kpi_alert (id INTEGER PRIMARY KEY AUTOINCREMENT, group_by TEXT NOT NULL, grp TEXT NOT NULL, period TEXT NOT NULL,
      kpi TEXT NOT NULL, value REAL NOT NULL, target REAL NOT NULL, at INTEGER NOT NULL, UNIQUE (group_by, grp, period, kpi))`,
        postgres: `CREATE TABLE kpi_alert (id BIGSERIAL PRIMARY KEY, group_by TEXT NOT NULL, grp TEXT NOT NULL, period TEXT NOT NULL,
      kpi TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, target DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL, UNIQUE (group_by, grp, period, kpi))`,
      },
    ]);
    return new KpiAlerts(sql);
  }

  /** The new event's id, or undefined when this one was raised already this period. */
  async raise(groupBy: string, group: string, period: string, kpi: string, value: number, target: number, at: number): Promise<number | undefined> {
    const r = await this.sql.get<{ id: number }>('INSERT INTO kpi_alert (group_by, grp, period, kpi, value, target, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id', [groupBy, group, period, kpi, value, target, at]);
    return r?.id;
  }

  list(limit: number): Promise<KpiAlert[]> {
    return this.sql.all<KpiAlert>('SELECT id, group_by AS "groupBy", grp AS "group", period, kpi, value, target, at FROM kpi_alert ORDER BY id DESC LIMIT ?', [limit]);
  }
}

/** Whether a table exists, on either engine. */
async function hasTable(sql: Sql, name: string): Promise<boolean> {
  const q = sql.dialect === 'sqlite' ? "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?" : 'SELECT 1 AS x FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?';
  return (await sql.get(q, [name])) !== undefined;
}
