import { type Finding, type TicketEvidence, transmittedFrom } from '../core/index.ts';

const HOUR = 3_600_000;

/** Per-minute history, as the server's rollups keep it. */
export interface HistoryRows {
  /** The minute of a device's oldest reading still held, for the time to its first failure. */
  firstMinute?(deviceId: string): Promise<number | undefined>;
  rows(q: { from: number; to: number; devices?: readonly string[]; metrics?: readonly string[] }): Promise<Iterable<{ metric: string; count: number; mean: number; min: number; max: number; last: number; minute: number }>>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * What the desk needs to judge a ticket without opening a chart: the last hour of each watched metric,
 * the learned baselines, which limits were crossed by how much, and when a trend says a limit will be
 * reached. Built from the latest finding of each rule on the ticket.
 */
export async function buildEvidence(all: readonly Finding[], history: HistoryRows | undefined): Promise<TicketEvidence> {
  const latest = all.filter((f) => transmittedFrom(f) === undefined);
  const transmitted = all.filter((f) => transmittedFrom(f) !== undefined);
  if (latest.length === 0) latest.push(...transmitted.splice(0));
  const metrics = [...new Set(latest.map((f) => f.metric).filter((m) => m !== '*'))];
  const to = Math.max(...latest.map((f) => f.at)) + 60_000;
  const recent: TicketEvidence['recent'] = [];
  if (history && metrics.length > 0) {
    const deviceId = latest[0]!.deviceId;
    const acc = new Map<string, { count: number; sum: number; min: number; max: number; last: number; from: number; to: number }>();
    for (const r of await history.rows({ from: to - HOUR, to, devices: [deviceId], metrics })) {
      const a = acc.get(r.metric);
      if (!a) acc.set(r.metric, { count: r.count, sum: r.mean * r.count, min: r.min, max: r.max, last: r.last, from: r.minute, to: r.minute + 60_000 });
      else {
        a.count += r.count;
        a.sum += r.mean * r.count;
        a.min = Math.min(a.min, r.min);
        a.max = Math.max(a.max, r.max);
        a.last = r.last;
        a.to = r.minute + 60_000;
      }
    }
    for (const [metric, a] of acc) recent.push({ metric, from: a.from, to: a.to, count: a.count, min: round(a.min), mean: round(a.sum / a.count), max: round(a.max), last: round(a.last) });
  }

  const baseline: Record<string, number> = {};
  const limitsCrossed: TicketEvidence['limitsCrossed'] = [];
  let predicted: number | null = null;
  for (const f of latest) {
    const e = f.evidence;
    const b = num(e.baseline);
    if (b !== null && f.metric !== '*') baseline[f.metric] = b;
    const p = num(e.predictedCrossing);
    if (p !== null && (predicted === null || p < predicted)) predicted = p;
    if (f.event === 'resolve') continue;
    const kind = typeof e.kind === 'string' ? e.kind : 'rule';
    if (kind === 'trend') limitsCrossed.push({ ruleId: f.ruleId, metric: f.metric, severity: f.severity, measure: 'predicted value', value: num(e.value), limit: num(e.limit) });
    else if (kind === 'baseline') limitsCrossed.push({ ruleId: f.ruleId, metric: f.metric, severity: f.severity, measure: String(e.measure ?? 'score'), value: num(e.score), limit: num(e[f.severity]) });
    else if (kind === 'rate') limitsCrossed.push({ ruleId: f.ruleId, metric: f.metric, severity: f.severity, measure: `change per ${String(e.per)} ms`, value: num(e.rate), limit: num(e[f.severity]) });
    else limitsCrossed.push({ ruleId: f.ruleId, metric: f.metric, severity: f.severity, measure: 'value', value: num(e.value), limit: num(e[f.severity]) });
  }
  return {
    recent,
    baseline,
    limitsCrossed,
    predictedLimitAt: predicted,
    findings: latest.map((f) => ({ ruleId: f.ruleId, metric: f.metric, severity: f.severity, event: f.event, at: f.at, evidence: f.evidence })),
    transmitted: transmitted.map((f) => ({ deviceId: f.deviceId, ruleId: f.ruleId, metric: f.metric, severity: f.severity, event: f.event, at: f.at, evidence: f.evidence })),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
