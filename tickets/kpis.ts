import { z } from 'zod';
import type { Db } from '../core/index.ts';
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
    /** Nearest-rank 90th percentile, to the minute. */
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
  belowTarget: z.array(z.enum(['response', 'firstTimeFix', 'resolution', 'satisfaction'])),
});
export type KpiRow = z.infer<typeof KpiRowSchema>;

const COLUMN: Record<KpiGroup, string> = { site: 'site', region: 'region', group: 'grp', customer: 'customer', equipment: 'equipment', source: 'source' };

export interface KpiQuery {
  from: number;
  to: number;
  groupBy: KpiGroup;
  interval: KpiInterval;
  /** Deadlines up to this instant count as due. */
  asOf: number;
  /** Only tickets of these sites (a token's scope). */
  sites?: ReadonlySet<string> | undefined;
}

interface Agg {
  g: string;
  b: string | number;
  opened: number;
  responded: number;
  meanResp: number | null;
  respIn: number;
  respDue: number;
  ffN: number;
  ffYes: number | null;
  resDue: number;
  resIn: number;
  resolved: number;
  mttr: number | null;
  answered: number;
  satisfied: number | null;
  unanswered: number;
  npsN: number;
  promoters: number | null;
  detractors: number | null;
  predictedFirst: number;
}

/**
 * The desk's figures per group and period, from `ticket_kpi` (one row per ticket, kept by the store):
 * one grouped scan for the counts and means, one for the response-time distribution by minute, so a
 * year of a million tickets is answered without reading a single ticket's JSON.
 */
export function computeKpis(db: Db, q: KpiQuery, targets: TicketPolicy['targets']): KpiRow[] {
  const g = COLUMN[q.groupBy];
  const b = q.interval === 'week' ? 'week' : 'month';
  const scope = q.sites ? [...q.sites] : undefined;
  const sites = scope ? ` AND site IN (${scope.map((_, i) => `@s${i}`).join(', ') || "''"})` : '';
  const siteArgs = Object.fromEntries((scope ?? []).map((s, i) => [`s${i}`, s]));
  const where = `WHERE opened_at >= @from AND opened_at < @to${sites}`;
  const args = { from: q.from, to: q.to, asOf: q.asOf, ...siteArgs };
  const aggs = db
    .prepare(
      `SELECT ${g} AS g, ${b} AS b, COUNT(*) AS opened,
        COUNT(response_ms) AS responded, AVG(response_ms) AS meanResp,
        SUM(response_ms IS NOT NULL AND opened_at + response_ms <= respond_by) AS respIn,
        SUM(response_ms IS NOT NULL OR respond_by <= @asOf) AS respDue,
        COUNT(first_fix) AS ffN, SUM(first_fix) AS ffYes,
        SUM(resolved_at IS NOT NULL OR resolve_by <= @asOf) AS resDue,
        SUM(resolved_at IS NOT NULL AND resolved_at <= resolve_by) AS resIn,
        COUNT(resolved_at) AS resolved, AVG(resolved_at - opened_at) AS mttr,
        COUNT(score) AS answered, SUM(score >= 4) AS satisfied, SUM(close_reason = 'no_response') AS unanswered,
        COUNT(nps) AS npsN, SUM(nps >= 9) AS promoters, SUM(nps <= 6) AS detractors,
        SUM(predicted_first) AS predictedFirst
      FROM ticket_kpi ${where} GROUP BY g, b ORDER BY g, b`,
    )
    .all(args) as Agg[];
  // Response minutes by group and period: the percentile from a histogram instead of every ticket.
  const hist = new Map<string, [number, number][]>();
  for (const r of db
    .prepare(`SELECT ${g} AS g, ${b} AS b, response_ms / 60000 AS m, COUNT(*) AS n FROM ticket_kpi ${where} AND response_ms IS NOT NULL GROUP BY g, b, m ORDER BY g, b, m`)
    .raw()
    .iterate({ from: q.from, to: q.to, ...siteArgs }) as Iterable<[string, string | number, number, number]>) {
    const k = `${r[0]}\u0000${r[1]}`;
    let h = hist.get(k);
    if (!h) hist.set(k, (h = []));
    h.push([r[2], r[3]]);
  }
  return aggs.map((a) => {
    const ratio = (n: number | null, d: number) => (d > 0 ? (n ?? 0) / d : null);
    const h = hist.get(`${a.g}\u0000${a.b}`) ?? [];
    const row: KpiRow = {
      group: a.g === '' ? '(none)' : a.g,
      period: typeof a.b === 'number' ? new Date(a.b).toISOString().slice(0, 10) : a.b,
      periodStart: typeof a.b === 'number' ? a.b : Date.parse(`${a.b}-01T00:00:00Z`),
      opened: a.opened,
      response: { responded: a.responded, meanMinutes: a.meanResp === null ? null : a.meanResp / 60_000, p90Minutes: percentile(h, a.responded, 0.9), withinSla: ratio(a.respIn, a.respDue) },
      firstTimeFix: { judged: a.ffN, rate: ratio(a.ffYes, a.ffN) },
      resolution: { due: a.resDue, rate: ratio(a.resIn, a.resDue) },
      satisfaction: { answered: a.answered, rate: ratio(a.satisfied, a.answered), answerRate: ratio(a.answered, a.answered + a.unanswered) },
      nps: { answered: a.npsN, score: a.npsN > 0 ? (100 * ((a.promoters ?? 0) - (a.detractors ?? 0))) / a.npsN : null },
      mttrHours: a.mttr === null ? null : a.mttr / 3_600_000,
      predictedShare: ratio(a.predictedFirst, a.opened),
      belowTarget: [],
    };
    if (row.response.meanMinutes !== null && row.response.meanMinutes > targets.responseMinutes) row.belowTarget.push('response');
    if (row.firstTimeFix.rate !== null && row.firstTimeFix.rate < targets.firstTimeFix) row.belowTarget.push('firstTimeFix');
    if (row.resolution.rate !== null && row.resolution.rate < targets.resolution) row.belowTarget.push('resolution');
    if (row.satisfaction.rate !== null && row.satisfaction.rate < targets.satisfaction) row.belowTarget.push('satisfaction');
    return row;
  });
}

/** Nearest rank: the smallest value with at least `p` of the counts at or below it. */
function percentile(hist: [number, number][], total: number, p: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const [v, n] of hist) {
    seen += n;
    if (seen >= rank) return v;
  }
  return hist.at(-1)?.[0] ?? null;
}

/** Published bands to read the desk's own figures against. */
export const INDUSTRY_BANDS = {
  firstTimeFix: { average: [0.75, 0.8], bestInClass: 0.88, source: 'Aberdeen Group, field service benchmarks' },
} as const;

const CSV_COLUMNS = [
  'group', 'period', 'opened', 'response_mean_min', 'response_p90_min', 'response_within_sla', 'first_time_fix', 'first_time_fix_judged',
  'resolution_rate', 'resolution_due', 'satisfaction', 'satisfaction_answered', 'answer_rate', 'nps', 'mttr_h', 'predicted_share', 'below_target',
] as const;

/** The KPI table as CSV (RFC 4180), one line per group and period; empty cells where a figure is null. */
export function kpiCsv(rows: readonly KpiRow[]): string {
  const cell = (v: string | number | null) => (v === null ? '' : typeof v === 'number' ? String(Math.round(v * 1e6) / 1e6) : /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = rows.map((r) =>
    [
      r.group, r.period, r.opened, r.response.meanMinutes, r.response.p90Minutes, r.response.withinSla, r.firstTimeFix.rate, r.firstTimeFix.judged,
      r.resolution.rate, r.resolution.due, r.satisfaction.rate, r.satisfaction.answered, r.satisfaction.answerRate, r.nps.score, r.mttrHours, r.predictedShare, r.belowTarget.join(' '),
    ].map(cell).join(','),
  );
  return [CSV_COLUMNS.join(','), ...lines].join('\r\n') + '\r\n';
}
