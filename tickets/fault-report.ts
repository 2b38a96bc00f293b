import { type FaultGroupBy, FaultGroupBySchema, type FaultReportRow, FaultReportRowSchema, type Migration, type Sql, type Ticket, migrateStore } from '../core/index.ts';
import { csv } from './csv.ts';
import type { FaultCatalog } from './fault-codes.ts';

export { FaultGroupBySchema, FaultReportRowSchema, type FaultGroupBy, type FaultReportRow };

export interface FaultReportInput {
  groupBy: FaultGroupBy;
  /** Where a device's time to first failure counts from when its entry gives no `installedAt`. */
  firstReading: (deviceId: string) => Promise<number | undefined>;
  /** When the device's last confirmed fault before `before` opened (one before the report's period), if any. */
  previousFault?: (deviceId: string, before: number) => Promise<number | undefined>;
  catalog: FaultCatalog;
}

const HOUR = 3_600_000;
const round = (v: number, places = 3) => Math.round(v * 10 ** places) / 10 ** places;
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function groupOf(t: Ticket, by: FaultGroupBy): string {
  if (by === 'site') return t.site ?? 'unknown';
  if (by === 'model') return t.equipment?.model ?? 'unknown';
  return t.equipment ? `${t.equipment.model} ${t.equipment.firmware ?? 'unknown'}` : 'unknown';
}

const confirmedFault = (t: Ticket) => t.outcome === 'confirmed' && t.resolvedAt !== null;

/**
 * What engineering needs from the field, per model, firmware or site: which faults happen, how often
 * they were real, how long machines run between them and how long a repair takes.
 */
export async function faultReport(tickets: AsyncIterable<Ticket> | Iterable<Ticket>, input: FaultReportInput): Promise<FaultReportRow[]> {
  const groups = new Map<string, Ticket[]>();
  for await (const t of tickets) {
    const g = groupOf(t, input.groupBy);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(t);
  }
  const rows: FaultReportRow[] = [];
  for (const [group, list] of groups) {
    const faults = tally(list.map((t) => t.fault));
    const codes = tally(list.flatMap((t) => (t.resolution?.faultCode ? [t.resolution.faultCode] : [])));
    const judged = list.filter((t) => t.outcome !== null).length;
    const confirmed = list.filter(confirmedFault);
    // Time between failures, device by device, over its confirmed faults in order.
    const between: number[] = [];
    const byDevice = new Map<string, Ticket[]>();
    for (const t of confirmed) if (t.deviceId !== null) byDevice.set(t.deviceId, [...(byDevice.get(t.deviceId) ?? []), t]);
    for (const [deviceId, faultsOf] of byDevice) {
      faultsOf.sort((a, b) => a.createdAt - b.createdAt);
      // A fault before the period ends the previous interval, not the installation: a report of one
      // month must not count the years before a device's earlier failure as time between failures.
      let since = (await input.previousFault?.(deviceId, faultsOf[0]!.createdAt)) ?? faultsOf[0]!.equipment?.installedAt ?? (await input.firstReading(deviceId)) ?? null;
      for (const t of faultsOf) {
        if (since !== null && t.createdAt >= since) between.push(t.createdAt - since);
        since = t.createdAt;
      }
    }
    const mtbf = mean(between);
    const mttr = mean(confirmed.map((t) => t.resolvedAt! - t.createdAt));
    const onSite = mean(list.flatMap((t) => (t.resolution?.minutesOnSite != null ? [t.resolution.minutesOnSite] : [])));
    rows.push({
      group,
      tickets: list.length,
      devices: new Set(list.map((t) => t.deviceId).filter((d) => d !== null)).size,
      faults: faults.map(([fault, n]) => ({ fault, count: n })),
      faultCodes: codes.map(([code, n]) => ({ code, title: input.catalog.find(code)?.title ?? null, count: n })),
      judged,
      confirmed: confirmed.length,
      confirmedShare: judged ? round(confirmed.length / judged) : null,
      mtbfHours: mtbf === null ? null : round(mtbf / HOUR),
      mttrHours: mttr === null ? null : round(mttr / HOUR),
      meanMinutesOnSite: onSite === null ? null : round(onSite, 1),
      predictedShare: list.length ? round(list.filter((t) => t.source === 'predicted' && !t.customerNoticed).length / list.length) : null,
    });
  }
  return rows.sort((a, b) => b.tickets - a.tickets || a.group.localeCompare(b.group));
}

function tally(xs: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const COLUMNS = ['group', 'tickets', 'devices', 'judged', 'confirmed', 'confirmed_share', 'mtbf_hours', 'mttr_hours', 'mean_minutes_on_site', 'predicted_share', 'top_faults', 'top_fault_codes'];

/** The report as CSV, one line per group; the top five faults and codes as `name:count` lists. */
export function faultReportCsv(rows: readonly FaultReportRow[]): string {
  return csv(
    COLUMNS,
    rows.map((r) => [
      r.group, r.tickets, r.devices, r.judged, r.confirmed, r.confirmedShare, r.mtbfHours, r.mttrHours, r.meanMinutesOnSite, r.predictedShare,
      r.faults.slice(0, 5).map((f) => `${f.fault}:${f.count}`).join(' '),
      r.faultCodes.slice(0, 5).map((c) => `${c.code}:${c.count}`).join(' '),
    ]),
  );
}

/** The months whose report went out, so each goes out once, on one server or many. */
export class FaultReportLog {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<FaultReportLog> {
    await migrateStore(sql, REPORT_MIGRATIONS);
    return new FaultReportLog(sql);
  }

  /** Claims a month's report; its id when this call claimed it, undefined when it was sent already. */
  async claim(period: string, at: number): Promise<number | undefined> {
    const r = await this.sql.get<{ id: number }>('INSERT INTO fault_report_sent (period, at) VALUES (?, ?) ON CONFLICT (period) DO NOTHING RETURNING id', [period, at]);
    return r ? Number(r.id) : undefined;
  }
}

const REPORT_MIGRATIONS: Migration[] = [
  {
    id: 'reports/001-initial',
    sqlite: 'CREATE TABLE IF NOT EXISTS fault_report_sent (id INTEGER PRIMARY KEY AUTOINCREMENT, period TEXT NOT NULL UNIQUE, at INTEGER NOT NULL);',
    postgres: 'CREATE TABLE fault_report_sent (id BIGSERIAL PRIMARY KEY, period TEXT NOT NULL UNIQUE, at BIGINT NOT NULL);',
  },
];
