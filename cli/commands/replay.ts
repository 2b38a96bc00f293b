import { parseArgs } from 'node:util';
import { EXIT } from '../exit-codes.ts';
import { readConfigText } from '../../core/index.ts';
import { CsvError, DeviceEntrySchema, type Failure, backtest, defaultRuleset, leadTimes, parseReadingsCsv, parseRuleset, parseTruthCsv } from '../../rules/index.ts';
import type { CliContext } from '../context.ts';
import { replayHelp } from '../help.ts';


export async function replayCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rules: { type: 'string' },
      csv: { type: 'string' },
      json: { type: 'boolean', default: false },
      device: { type: 'string' },
      map: { type: 'string' },
      site: { type: 'string' },
      truth: { type: 'string' },
      machine: { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (!values.rules || !values.csv) {
    ctx.err(replayHelp);
    return 2;
  }
  const map: Record<string, string> = {};
  for (const pair of values.map?.split(',').filter(Boolean) ?? []) {
    const [from, to] = pair.split('=');
    if (!from || !to) {
      ctx.err(`--map: expected COLUMN=METRIC, got ${JSON.stringify(pair)}`);
      return 2;
    }
    map[from.trim()] = to.trim();
  }
  let ruleset = values.rules === 'default' ? defaultRuleset() : parseRuleset(readConfigText(values.rules), values.rules);
  if (values.machine?.length) {
    // The same as `devices: [{ id: PATTERN, machine: NAME }]` in the ruleset, for data replayed as it is.
    const entries = [];
    for (const [i, m] of values.machine.entries()) {
      const [id, name] = m.split('=');
      const entry = DeviceEntrySchema.safeParse({ id: id?.trim(), machine: name?.trim() || `machine-${i + 1}` });
      if (!entry.success) {
        ctx.err(`--machine ${JSON.stringify(m)}: expected PATTERN or PATTERN=NAME, e.g. --machine 'rig1-*=rig1' (${entry.error.issues[0]?.message ?? 'invalid'})`);
        return 2;
      }
      entries.push(entry.data);
    }
    ruleset = { ...ruleset, devices: [...ruleset.devices, ...entries] };
  }
  let parsed;
  try {
    parsed = parseReadingsCsv(readConfigText(values.csv), { ...(values.device ? { device: values.device } : {}), map });
  } catch (err) {
    if (err instanceof CsvError) {
      ctx.err(`vigil replay: ${values.csv}: ${err.message}`);
      return EXIT.dataErr;
    }
    throw err;
  }
  let truth: Failure[] | undefined;
  if (values.truth) {
    try {
      truth = parseTruthCsv(readConfigText(values.truth));
    } catch (err) {
      if (err instanceof CsvError) {
        ctx.err(`vigil replay: ${values.truth}: ${err.message}`);
        return EXIT.dataErr;
      }
      throw err;
    }
  }
  for (const p of parsed.problems.slice(0, 10)) ctx.err(`${values.csv}:${p.line}: ${p.message} (row skipped)`);
  if (parsed.problems.length > 10) ctx.err(`... and ${parsed.problems.length - 10} more rows skipped`);

  const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());
  const { summary, findings } = backtest(ruleset, parsed.readings, {
    ...(values.site ? { site: values.site } : {}),
    onFinding(f) {
      if (values.json) {
        ctx.out(JSON.stringify({ ruleId: f.ruleId, deviceId: f.deviceId, metric: f.metric, severity: f.severity, event: f.event, at: f.at, fault: f.fault, evidence: f.evidence }));
      } else {
        ctx.out(`${iso(f.at)}  ${f.event.padEnd(8)} ${f.severity.padEnd(8)} ${f.deviceId.padEnd(16)} ${f.ruleId.padEnd(22)} ${f.metric.padEnd(20)} ${brief(f.evidence)}`);
      }
    },
  });
  const lead = truth ? leadTimes(findings, truth, summary.to) : undefined;
  if (values.json) {
    ctx.out(JSON.stringify({ summary: { ...summary, rowsSkipped: parsed.problems.length, format: parsed.format }, ...(lead ? { leadTimes: lead } : {}) }));
    return 0;
  }
  ctx.out('');
  ctx.out(`${summary.readings} readings (${parsed.format} format) from ${iso(summary.from)} to ${iso(summary.to)}; ${summary.findings} findings; ${summary.late} late readings ignored; ${parsed.problems.length} rows skipped`);
  if (summary.devices.length === 0) ctx.out('No device raised an alert.');
  else {
    ctx.out(`${'device'.padEnd(16)} ${'first warning'.padEnd(24)} ${'first critical'.padEnd(24)} alerts flaps rules`);
    for (const d of summary.devices) {
      ctx.out(`${d.deviceId.padEnd(16)} ${iso(d.firstWarning).padEnd(24)} ${iso(d.firstCritical).padEnd(24)} ${String(d.alerts).padStart(6)} ${String(d.flaps).padStart(5)} ${d.rules.join(',')}`);
    }
  }
  if (lead) {
    ctx.out('');
    ctx.out('Lead time (against --truth):');
    for (const f of lead.failures) {
      const matching = f.fault ? `; first ${f.fault} finding ${f.matchingLeadTimeHours === null ? 'never' : `${f.matchingLeadTimeHours} h before`}` : '';
      ctx.out(`  ${f.deviceId.padEnd(16)} failed ${iso(f.failedAt)}: first warning ${f.leadTimeHours === null ? 'never' : `${f.leadTimeHours} h before`}${matching}; ${f.tickets} ticket(s)`);
    }
    if (lead.falseAlarms.length === 0) ctx.out('  No findings on devices that did not fail.');
    for (const a of lead.falseAlarms) ctx.out(`  ${a.deviceId.padEnd(16)} did not fail: ${a.findings} finding(s) (${a.faults.join(', ')}), the first ${a.hoursBeforeEnd} h before the end; ${a.tickets} ticket(s)`);
    for (const [d, t] of Object.entries(lead.transmitted)) ctx.out(`  ${d.padEnd(16)} ${t.findings} finding(s) of vibration transmitted from ${t.sources.join(', ')}: evidence on that ticket, no ticket of its own`);
  }
  return 0;
}

function brief(e: Record<string, unknown>): string {
  const keys = ['value', 'baseline', 'score', 'limit', 'predictedCrossing', 'warning', 'critical', 'lastHeard', 'stuckSince'];
  return keys
    .filter((k) => e[k] !== undefined && e[k] !== null)
    .map((k) => `${k}=${typeof e[k] === 'number' && (k === 'predictedCrossing' || k === 'lastHeard' || k === 'stuckSince') ? new Date(e[k]).toISOString() : JSON.stringify(e[k])}`)
    .join(' ');
}
export { replayHelp };
