import { type Fault, FaultSchema, type Finding, problemsOf, transmittedFrom } from '../../core/index.ts';
import { CsvError, parseCsvTime, splitRow } from './csv.ts';

/** A device that really failed, and when: what detection is judged against. */
export interface Failure {
  deviceId: string;
  failedAt: number;
  fault: Fault | null;
}

export interface LeadTimeReport {
  /** Per failed device: its first warning (any fire or escalation) and, with a known fault, the first naming it. */
  failures: {
    deviceId: string;
    failedAt: number;
    fault: Fault | null;
    firstFindingAt: number | null;
    leadTimeHours: number | null;
    firstMatchingAt: number | null;
    matchingLeadTimeHours: number | null;
    tickets: number;
  }[];
  /** Devices that did not fail but raised findings: how many, and how long before the end of the data the first came. */
  falseAlarms: { deviceId: string; findings: number; firstAt: number; hoursBeforeEnd: number; faults: Fault[]; tickets: number }[];
  /** Per device, findings filed as vibration transmitted from a neighbour (evidence on its ticket, not alarms). */
  transmitted: Record<string, { findings: number; sources: string[] }>;
  /** Problems that would have had a ticket, per device (a vibration symptom merged into its diagnosis). */
  ticketsPerDevice: Record<string, number>;
}

const HOUR = 3_600_000;
const hours = (ms: number) => Math.round((ms / HOUR) * 10) / 10;

/**
 * Lead time, the product's own measure: for each device that failed, how long before the failure the
 * first warning came; for the others, every warning of their own is a false alarm. Findings after a
 * failure do not count as warnings of it, and vibration filed as transmitted from a neighbour is counted
 * apart: it is evidence on the neighbour's ticket.
 */
export function leadTimes(findings: readonly Finding[], failures: readonly Failure[], end: number | null): LeadTimeReport {
  const warnings = findings.filter((f) => f.event !== 'resolve');
  const byDevice = new Map<string, Finding[]>();
  const transmitted: LeadTimeReport['transmitted'] = {};
  for (const f of warnings) {
    const source = transmittedFrom(f);
    if (source !== undefined) {
      const t = (transmitted[f.deviceId] ??= { findings: 0, sources: [] });
      t.findings++;
      if (!t.sources.includes(source)) t.sources.push(source);
      continue;
    }
    const list = byDevice.get(f.deviceId);
    if (list) list.push(f);
    else byDevice.set(f.deviceId, [f]);
  }
  const tickets = (list: readonly Finding[]) => problemsOf(list.filter((f) => f.event === 'fire').map((f) => f.fault)).length;
  const ticketsPerDevice = Object.fromEntries([...byDevice].map(([d, list]) => [d, tickets(list)]));
  const failed = new Set(failures.map((f) => f.deviceId));
  return {
    failures: failures.map((x) => {
      const before = (byDevice.get(x.deviceId) ?? []).filter((f) => f.at <= x.failedAt);
      const first = before[0]?.at ?? null;
      const matching = x.fault ? (before.find((f) => f.fault === x.fault)?.at ?? null) : null;
      return {
        deviceId: x.deviceId,
        failedAt: x.failedAt,
        fault: x.fault,
        firstFindingAt: first,
        leadTimeHours: first === null ? null : hours(x.failedAt - first),
        firstMatchingAt: matching,
        matchingLeadTimeHours: matching === null ? null : hours(x.failedAt - matching),
        tickets: tickets(before),
      };
    }),
    falseAlarms: [...byDevice]
      .filter(([d]) => !failed.has(d))
      .map(([deviceId, list]) => ({ deviceId, findings: list.length, firstAt: list[0]!.at, hoursBeforeEnd: end === null ? 0 : hours(end - list[0]!.at), faults: problemsOf(list.map((f) => f.fault)), tickets: tickets(list) }))
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
    transmitted,
    ticketsPerDevice,
  };
}

/**
 * The `--truth` file: `device,failed_at[,fault]`, a header line first; `failed_at` an ISO 8601 time
 * (UTC unless it says otherwise) or epoch milliseconds. A bad line is an error naming it: a lead time
 * against a misread failure would be worse than none.
 */
export function parseTruthCsv(text: string): Failure[] {
  const lines = text.split(/\r?\n/);
  const header = splitRow(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('device') < 0 || col('failed_at') < 0) throw new CsvError('line 1: expected a header with device,failed_at (and optionally fault)');
  const out: Failure[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const cells = splitRow(line).map((c) => c.trim());
    const deviceId = cells[col('device')] ?? '';
    const when = cells[col('failed_at')] ?? '';
    const failedAt = parseCsvTime(when);
    if (!deviceId) throw new CsvError(`line ${i + 1}: no device`);
    if (failedAt === undefined) throw new CsvError(`line ${i + 1}: failed_at ${JSON.stringify(when)} is not a time (ISO 8601 or epoch ms)`);
    const rawFault = col('fault') >= 0 ? (cells[col('fault')] ?? '') : '';
    const fault = rawFault ? FaultSchema.safeParse(rawFault) : undefined;
    if (fault && !fault.success) throw new CsvError(`line ${i + 1}: fault ${JSON.stringify(rawFault)} is not one of ${FaultSchema.options.join(', ')}`);
    out.push({ deviceId, failedAt, fault: fault?.data ?? null });
  }
  if (out.length === 0) throw new CsvError('no failures listed');
  return out;
}

export interface RuleLeadTimes {
  ruleId: string;
  /** Per failed device, hours from this rule's first warning to the failure (null: it never warned). */
  leadTimes: { deviceId: string; hours: number | null }[];
  /** Its own findings (fire or escalate) on devices that did not fail, and on how many devices. */
  falseAlarms: number;
  falseAlarmDevices: number;
}

/** The same yardstick per rule: which rules warn early, and which cost false alarms. */
export function leadTimesPerRule(findings: readonly Finding[], failures: readonly Failure[]): RuleLeadTimes[] {
  const failed = new Map(failures.map((f) => [f.deviceId, f.failedAt]));
  const by = new Map<string, { first: Map<string, number>; falseAlarms: number; devices: Set<string> }>();
  for (const f of findings) {
    if (f.event === 'resolve' || transmittedFrom(f) !== undefined) continue;
    let r = by.get(f.ruleId);
    if (!r) by.set(f.ruleId, (r = { first: new Map(), falseAlarms: 0, devices: new Set() }));
    const failedAt = failed.get(f.deviceId);
    if (failedAt === undefined) {
      r.falseAlarms++;
      r.devices.add(f.deviceId);
    } else if (f.at <= failedAt && !r.first.has(f.deviceId)) r.first.set(f.deviceId, f.at);
  }
  return [...by]
    .map(([ruleId, r]) => ({
      ruleId,
      leadTimes: failures.map((x) => ({ deviceId: x.deviceId, hours: r.first.has(x.deviceId) ? hours(x.failedAt - r.first.get(x.deviceId)!) : null })),
      falseAlarms: r.falseAlarms,
      falseAlarmDevices: r.devices.size,
    }))
    .sort((a, b) => a.ruleId.localeCompare(b.ruleId));
}
