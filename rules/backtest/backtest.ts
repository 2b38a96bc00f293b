import { type Fault, type Finding, type Reading, problemsOf } from '../../core/index.ts';
import { RuleEngine } from '../engine/engine.ts';
import type { Ruleset } from '../rulesets/schema.ts';

export interface DeviceSummary {
  deviceId: string;
  firstWarning: number | null;
  firstCritical: number | null;
  /** Alerts opened (fire events). */
  alerts: number;
  /** Fires within the flap window of an earlier fire of the same alert. */
  flaps: number;
  findings: number;
  rules: string[];
  /** Problems that would have had a ticket: fired faults, a vibration symptom merged into its diagnosis. */
  tickets: number;
  faults: Fault[];
}

export interface BacktestSummary {
  readings: number;
  late: number;
  from: number | null;
  to: number | null;
  findings: number;
  devices: DeviceSummary[];
}

export interface BacktestOptions {
  /** The site of readings that do not carry one. */
  site?: string;
  /** How often (in the data's own time) clock-driven rules (silence) are evaluated. */
  tickEvery?: number;
  lateTolerance?: number;
  /** Called with each finding as it happens (streaming output). */
  onFinding?: (f: Finding) => void;
}

/**
 * Runs a ruleset over readings in time order with the live engine, the data's own time standing in
 * for the clock, and reports what would have fired. The same code serves `vigil replay` and the
 * server's backtest over stored history.
 */
export function backtest(ruleset: Ruleset, readings: Iterable<Reading & { site?: string }>, opts: BacktestOptions = {}): { findings: Finding[]; summary: BacktestSummary } {
  const run = new BacktestRun(ruleset, opts);
  for (const r of readings) run.feed(r);
  return run.finish();
}

/** {@link backtest} over readings read a page at a time from a store. */
export async function backtestAsync(ruleset: Ruleset, readings: AsyncIterable<Reading & { site?: string }> | Iterable<Reading & { site?: string }>, opts: BacktestOptions = {}): Promise<{ findings: Finding[]; summary: BacktestSummary }> {
  const run = new BacktestRun(ruleset, opts);
  for await (const r of readings) run.feed(r);
  return run.finish();
}

/** One backtest: readings in time order go in, findings and their summary come out. */
class BacktestRun {
  private readonly findings: Finding[] = [];
  private readonly engine: RuleEngine;
  private from: number | null = null;
  private to: number | null = null;
  private batch: Reading[] = [];
  private batchTs = NaN;
  private batchSite: string | undefined;

  constructor(
    ruleset: Ruleset,
    private readonly opts: BacktestOptions,
  ) {
    this.engine = new RuleEngine(ruleset, {
      lateTolerance: opts.lateTolerance ?? 60_000,
      tickEvery: opts.tickEvery ?? 60_000,
      emit: (f) => {
        this.findings.push(f);
        opts.onFinding?.(f);
      },
    });
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    this.engine.ingest(this.batchSite, this.batch, this.batchTs);
    this.batch = [];
  }

  feed(r: Reading & { site?: string }): void {
    const site = r.site ?? this.opts.site;
    if (r.ts !== this.batchTs || site !== this.batchSite) {
      this.flush();
      this.batchTs = r.ts;
      this.batchSite = site;
    }
    this.batch.push(r);
    if (this.from === null || r.ts < this.from) this.from = r.ts;
    if (this.to === null || r.ts > this.to) this.to = r.ts;
  }

  finish(): { findings: Finding[]; summary: BacktestSummary } {
    const { engine, findings, from, to } = this;
    this.flush();
    if (to !== null) engine.tick(to);
    const devices = new Map<string, DeviceSummary>();
    for (const f of findings) {
      let d = devices.get(f.deviceId);
      if (!d) devices.set(f.deviceId, (d = { deviceId: f.deviceId, firstWarning: null, firstCritical: null, alerts: 0, flaps: 0, findings: 0, rules: [], tickets: 0, faults: [] }));
      d.findings++;
      if (!d.rules.includes(f.ruleId)) d.rules.push(f.ruleId);
      if (f.event === 'resolve') continue;
      if (f.event === 'fire') {
        d.alerts++;
        d.faults = problemsOf([...d.faults, f.fault]);
        d.tickets = d.faults.length;
        if (f.evidence.refire === true) d.flaps++;
      }
      if (d.firstWarning === null) d.firstWarning = f.at; // any fire or escalation is at least a warning
      if (f.severity === 'critical' && d.firstCritical === null) d.firstCritical = f.at;
    }
    const summary: BacktestSummary = {
      readings: engine.stats.readings,
      late: engine.stats.late,
      from,
      to,
      findings: findings.length,
      devices: [...devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
    };
    return { findings, summary };
  }
}
