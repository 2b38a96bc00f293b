import { z } from 'zod';
import {
  type Clock,
  ConfigError,
  Counter,
  DurationSchema,
  type Finding,
  Gauge,
  type Logger,
  type Reading,
  type Registry,
  readConfigText,
  type Service,
  type Sql,
  type AuditLog,
  shardOf,
  type TimerHandle,
} from '../../core/index.ts';
import { type BacktestSummary, backtestAsync } from '../backtest/backtest.ts';
import { type Failure, type LeadTimeReport, type RuleLeadTimes, leadTimes, leadTimesPerRule } from '../backtest/lead-time.ts';
import { RuleEngine } from '../engine/engine.ts';
import { defaultRulesetText, parseRuleset, planDevice } from '../rulesets/compile.ts';
import { lineDiff } from '../rulesets/diff.ts';
import type { Ruleset } from '../rulesets/schema.ts';
import { type MaintenanceInput, MAX_WINDOW, MaintenanceStore, type MaintenanceWindow } from './maintenance.ts';
import { FindingStore, RulesetStore, StateStore } from './store.ts';

export const RulesConfigSchema = z
  .strictObject({
    /** The ruleset to start with until one is published through the API: `default` or a YAML file. */
    ruleset: z.string().min(1).default('default'),
    /** Readings up to this much older than the newest of their (device, metric) still drive alerts. */
    lateTolerance: DurationSchema.prefault('5m'),
    /** How often the engine state is written to SQLite (and always on a clean stop). */
    snapshotEvery: DurationSchema.prefault('30s'),
    /** How often clock-driven rules (silence) are evaluated. */
    tickEvery: DurationSchema.prefault('10s'),
    /**
     * Readings whose quality is `uncertain`: `exclude` (default) keeps them out of rules and baselines
     * like `bad` ones, which are always kept out; `include` lets them drive rules. Both are stored.
     */
    uncertain: z.enum(['exclude', 'include']).default('exclude'),
  })
  .prefault({});
export type RulesConfig = z.infer<typeof RulesConfigSchema>;

/** Where backtests read history from: readings in time order. */
export interface HistorySource {
  readings(q: { from: number; to: number; devices?: readonly string[] }): AsyncIterable<Reading & { site?: string }> | Iterable<Reading & { site?: string }>;
}

export interface RulesDeps {
  sql: Sql;
  audit: AuditLog;
  log: Logger;
  clock: Clock;
  registry: Registry;
  history?: HistorySource;
  /**
   * Shards are leased among several servers: the engine starts empty and takes up each shard's state
   * as it gains the shard (resumeShard), and the cluster writes it per shard (saveShard); no snapshot of
   * everything on a timer or at stop, which could overwrite a shard that has moved on.
   */
  byShard?: boolean;
}

export type Validation = { valid: true; ruleset: Ruleset } | { valid: false; issues: { path: string; message: string }[] };

export interface BacktestRequest {
  yaml?: string | undefined;
  version?: number | undefined;
  from: number;
  to: number;
  devices?: string[] | undefined;
  compare: boolean;
  limit: number;
  /** Devices that really failed: each run then reports lead times and false alarms. */
  truth?: Failure[] | undefined;
}

export interface BacktestRun {
  version: number | null;
  summary: BacktestSummary;
  findings: Finding[];
  truncated: boolean;
  leadTimes?: LeadTimeReport;
}

/** What the console shows per rule beside its precision: the last backtest told the real failures. */
export interface LastBacktest {
  at: number;
  from: number;
  to: number;
  version: number | null;
  failures: number;
  rules: RuleLeadTimes[];
}

/**
 * The live rule engine inside the server. Lifecycle: start() loads the active ruleset version (or
 * publishes the configured one as version 1) and restores the engine state, then readings and clock
 * ticks drive it; stop() writes a last snapshot. Findings are stored, counted and handed to listeners.
 */
export class RuleService implements Service {
  readonly name = 'rules';
  readonly versions: RulesetStore;
  readonly findings: FindingStore;
  readonly maintenance: MaintenanceStore;
  private readonly state: StateStore;
  /** Findings in the order the engine emitted them: each stored, then handed to the listeners. */
  private emitted: Promise<void> = Promise.resolve();
  private engine: RuleEngine | undefined;
  private activeVersion = 0;
  private readonly listeners: ((f: Finding, id: number) => void)[] = [];
  private timers: TimerHandle[] = [];
  private stopped = false;
  private readonly findingsTotal: Counter<'event' | 'severity' | 'rule'>;
  /** Rows, bytes and time of the last snapshot (changed rows only, see {@link snapshot}). */
  lastSnapshot: { rows: number; bytes: number; ms: number } | undefined;
  private snapshotFailed = false;

  static async open(config: RulesConfig, deps: RulesDeps): Promise<RuleService> {
    const [versions, findings, state, maintenance] = [await RulesetStore.open(deps.sql, deps.audit), await FindingStore.open(deps.sql), await StateStore.open(deps.sql), await MaintenanceStore.open(deps.sql, deps.audit)];
    return new RuleService(config, deps, { versions, findings, state, maintenance });
  }

  private constructor(
    private readonly config: RulesConfig,
    private readonly deps: RulesDeps,
    stores: { versions: RulesetStore; findings: FindingStore; state: StateStore; maintenance: MaintenanceStore },
  ) {
    this.versions = stores.versions;
    this.findings = stores.findings;
    this.state = stores.state;
    this.maintenance = stores.maintenance;
    const registers = [deps.registry];
    this.findingsTotal = new Counter({ name: 'vigil_findings_total', help: 'Findings emitted by the rule engine', labelNames: ['event', 'severity', 'rule'], registers });
    const engine = () => this.engine;
    const counterFrom = (name: string, help: string, read: (e: RuleEngine) => number) => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const e = engine();
          if (!e) return;
          const now = read(e);
          if (now > seen) this.inc(now - seen);
          seen = now;
        },
      });
    };
    counterFrom('vigil_rule_readings_total', 'Readings evaluated by the rule engine', (e) => e.stats.readings);
    counterFrom('vigil_rule_evaluations_total', 'Rule evaluations (one reading against one rule instance)', (e) => e.stats.evaluations);
    counterFrom('vigil_rule_late_readings_total', 'Readings too late to drive alerts (stored, not evaluated)', (e) => e.stats.late);
    counterFrom('vigil_rule_paused_readings_total', 'Readings not judged: the machine was stopped or warming up, or under a maintenance window', (e) => e.stats.paused);
    const maintenance = this.maintenance;
    new Gauge({
      name: 'vigil_maintenance_windows_active',
      help: 'Maintenance windows in force now',
      registers,
      aggregator: 'max',
      async collect() {
        const now = deps.clock.now();
        this.set((await maintenance.list('current', now)).filter((w) => w.start <= now).length);
      },
    });
    new Gauge({
      name: 'vigil_alerts_active',
      help: 'Alerts firing or recovering, by severity',
      labelNames: ['severity'],
      registers,
      collect() {
        const active = [...(engine()?.firing().values() ?? [])].flat();
        this.set({ severity: 'warning' }, active.filter((a) => a.severity === 'warning').length);
        this.set({ severity: 'critical' }, active.filter((a) => a.severity === 'critical').length);
      },
    });
  }

  get started(): boolean {
    return this.engine !== undefined;
  }

  get live(): RuleEngine {
    if (!this.engine) throw new Error('the rule service has not started');
    return this.engine;
  }

  get version(): number {
    return this.activeVersion;
  }

  /** Findings from now on are also handed to `listener` (tickets, the live stream), with their stored id. */
  onFinding(listener: (f: Finding, id: number) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const { log, clock } = this.deps;
    let active = await this.versions.active();
    if (!active) {
      const source = this.config.ruleset;
      const yaml = source === 'default' ? defaultRulesetText() : readConfigText(source);
      const parsed = parseRuleset(yaml, source);
      await this.versions.publish({ name: parsed.name, yaml, author: 'system', comment: `initial ruleset (${source})`, at: clock.now() });
      active = (await this.versions.active())!;
    }
    const ruleset = parseRuleset(active.yaml, `ruleset version ${active.version}`);
    this.activeVersion = active.version;
    this.engine = new RuleEngine(ruleset, { lateTolerance: this.config.lateTolerance, emit: (f) => this.emit(f) });
    const restored = this.deps.byShard ? 0 : this.engine.restore(await this.state.load(), clock.now());
    this.engine.setHolds(await this.maintenance.holds(clock.now()));
    log.info({ version: active.version, name: ruleset.name, rules: ruleset.rules.length, restoredStates: restored }, 'rule engine started');
    this.stopped = false;
    // Windows end by themselves (the engine compares times); this only drops the ended ones from its list.
    this.every(this.config.snapshotEvery, async () => {
      if (!this.deps.byShard) await this.snapshot();
      this.engine?.setHolds(await this.maintenance.holds(clock.now()));
    });
    this.every(this.config.tickEvery, () => this.engine?.tick(clock.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    this.timers = [];
    await this.emitted;
    if (this.engine && !this.deps.byShard) await this.snapshot();
  }


  /** Evaluates the accepted readings of one Envelope. */
  ingest(site: string, readings: readonly Reading[]): void {
    this.engine?.ingest(site, readings, this.deps.clock.now());
  }

  /**
   * Writes the rule state that changed since the last snapshot: at fleet size most of a snapshot was
   * rewriting the state of devices that had sent nothing. After a failed write, everything once more.
   */
  async snapshot(): Promise<void> {
    const t0 = performance.now();
    const all = this.snapshotFailed;
    this.snapshotFailed = true;
    const r = await this.state.save(this.live.snapshot({ changedOnly: !all }));
    this.snapshotFailed = false;
    this.lastSnapshot = { ...r, ms: Math.round(performance.now() - t0) };
  }

  /**
   * Takes up a shard another server owned: its devices' baselines and alerts from the last snapshot
   * that server wrote. Returns how many states were restored.
   */
  async resumeShard(shard: number): Promise<number> {
    return this.live.restore(await this.state.loadShard(shard), this.deps.clock.now());
  }

  /** Writes every state of a shard's devices (before its lease is freed); `guard` refuses the write when the lease is gone. */
  async saveShard(shard: number, guard?: () => Promise<void>): Promise<{ rows: number; bytes: number }> {
    return this.state.save(this.live.snapshot({ only: (site) => site !== undefined && shardOf(site) === shard }), guard);
  }

  /** Drops a shard's devices from the engine: another server owns them now. */
  forgetShard(shard: number): number {
    return this.live.forget((site) => site !== undefined && shardOf(site) === shard);
  }

  validate(yaml: string): Validation {
    try {
      return { valid: true, ruleset: parseRuleset(yaml, 'ruleset') };
    } catch (err) {
      if (err instanceof ConfigError) return { valid: false, issues: err.issues.map((i) => ({ path: i.path, message: i.message })) };
      throw err;
    }
  }

  /**
   * What publishing `yaml` would change, without changing anything: the text diff against the active
   * version, and per device seen so far the rules that would start or stop applying.
   */
  async dryRun(yaml: string, ruleset: Ruleset): Promise<{ diff: string; devices: { deviceId: string; rules: string[]; added: string[]; removed: string[]; skipped: readonly { ruleId: string; metric: string; reason: string }[] }[] }> {
    const active = await this.versions.active();
    const devices = this.live.seen().map(({ deviceId, site }) => {
      const now = new Set(planDevice(this.live.activeRuleset, deviceId, site).rules.map((r) => `${r.ruleId}:${r.metric}`));
      const plan = planDevice(ruleset, deviceId, site);
      const next = new Set(plan.rules.map((r) => `${r.ruleId}:${r.metric}`));
      return {
        deviceId,
        rules: [...next],
        added: [...next].filter((k) => !now.has(k)),
        removed: [...now].filter((k) => !next.has(k)),
        skipped: plan.skipped,
      };
    });
    return { diff: lineDiff(active?.yaml ?? '', yaml), devices };
  }

  /** Stores a new version, makes it active and switches the engine over live, keeping learned state. */
  async publish(yaml: string, ruleset: Ruleset, author: string, comment: string): Promise<{ version: number; diff: string }> {
    const v = await this.versions.publish({ name: ruleset.name, yaml, author, comment, at: this.deps.clock.now() });
    this.live.use(ruleset);
    this.activeVersion = v.version;
    this.deps.log.info({ version: v.version, author, comment }, 'ruleset published');
    return { version: v.version, diff: v.diff };
  }

  /** Rolls back (or forward) to a stored version. */
  async activate(version: number, author: string, comment: string): Promise<boolean> {
    const v = await this.versions.get(version);
    if (!v) return false;
    await this.versions.activate(version, author, comment, this.deps.clock.now());
    this.live.use(parseRuleset(v.yaml, `ruleset version ${version}`));
    this.activeVersion = version;
    this.deps.log.info({ version, author, comment }, 'ruleset activated');
    return true;
  }

  /**
   * Plans a maintenance window: findings of what it covers are held back, and baselines do not learn,
   * while it lasts. Returns the problem, in the operator's words, when the window cannot be right.
   */
  async planMaintenance(input: MaintenanceInput, actor: string): Promise<MaintenanceWindow | { problem: string }> {
    const now = this.deps.clock.now();
    const time = (v: number | string) => (typeof v === 'number' ? v : Date.parse(v));
    const start = input.start === undefined ? now : time(input.start);
    const end = time(input.end);
    if (!(end > start)) return { problem: 'end must be after start' };
    if (end <= now) return { problem: 'the window has already ended' };
    if (end - start > MAX_WINDOW) return { problem: 'a window lasts at most 31 days; plan longer work as several windows' };
    const classes = this.live.activeRuleset.assetClasses;
    const unknown = input.classes?.filter((c) => !(c in classes)) ?? [];
    if (unknown.length > 0) return { problem: `unknown asset class ${unknown.join(', ')} (the active ruleset has ${Object.keys(classes).join(', ') || 'none'})` };
    const w = await this.maintenance.create({ devices: input.devices, sites: input.sites, classes: input.classes, start, end, reason: input.reason }, actor, now);
    this.live.setHolds(await this.maintenance.holds(now));
    this.deps.log.info({ id: w.id, start, end, actor }, 'maintenance window planned');
    return w;
  }

  async endMaintenance(id: number, actor: string): Promise<MaintenanceWindow | undefined> {
    const now = this.deps.clock.now();
    const w = await this.maintenance.end(id, actor, now);
    if (w) this.live.setHolds(await this.maintenance.holds(now));
    return w;
  }

  /** The per-rule lead times of the last backtest of a stored version that was told the real failures. */
  async lastBacktest(): Promise<LastBacktest | null> {
    const json = await this.versions.lastBacktest();
    return json === undefined ? null : (JSON.parse(json) as LastBacktest);
  }

  /** Runs a ruleset (and the active one beside it) over the stored per-minute history. */
  async backtest(req: BacktestRequest, candidate: Ruleset | undefined): Promise<{ candidate: BacktestRun; active?: BacktestRun }> {
    const history = this.deps.history;
    if (!history) throw new Error('no history is kept on this server');
    const run = async (rs: Ruleset, version: number | null): Promise<BacktestRun> => {
      const { findings, summary } = await backtestAsync(rs, history.readings({ from: req.from, to: req.to, ...(req.devices ? { devices: req.devices } : {}) }), {
        lateTolerance: this.config.lateTolerance,
      });
      if (req.truth && version !== null) {
        const last: LastBacktest = { at: this.deps.clock.now(), from: req.from, to: req.to, version, failures: req.truth.length, rules: leadTimesPerRule(findings, req.truth) };
        await this.versions.saveBacktest(JSON.stringify(last));
      }
      return { version, summary, findings: findings.slice(0, req.limit), truncated: findings.length > req.limit, ...(req.truth ? { leadTimes: leadTimes(findings, req.truth, summary.to) } : {}) };
    };
    const active = this.live.activeRuleset;
    const cand = candidate ?? active;
    const result: { candidate: BacktestRun; active?: BacktestRun } = { candidate: await run(cand, candidate ? (req.version ?? null) : this.activeVersion) };
    if (req.compare && candidate) result.active = await run(active, this.activeVersion);
    return result;
  }

  // The engine emits synchronously while it evaluates; storing is asynchronous. One chain keeps the
  // findings in emission order (ids rise with it) and hands each to the listeners once it is stored.
  private emit(f: Finding): void {
    this.findingsTotal.inc({ event: f.event, severity: f.severity, rule: f.ruleId });
    if (f.event !== 'resolve' || f.severity === 'critical') this.deps.log.info({ ruleId: f.ruleId, deviceId: f.deviceId, metric: f.metric, severity: f.severity, event: f.event }, 'finding');
    this.emitted = this.emitted.then(async () => {
      let id: number;
      try {
        id = await this.findings.add(f);
      } catch (err) {
        this.deps.log.error({ err, ruleId: f.ruleId, deviceId: f.deviceId }, 'finding not stored');
        return;
      }
      for (const l of this.listeners) {
        try {
          l(f, id);
        } catch (err) {
          this.deps.log.error({ err }, 'finding listener failed');
        }
      }
    });
  }

  private every(ms: number, fn: () => void | Promise<void>): void {
    const slot = this.timers.length;
    const loop = async () => {
      if (this.stopped) return;
      try {
        await fn();
      } catch (err) {
        this.deps.log.error({ err }, 'rule engine periodic task failed');
      }
      if (!this.stopped) this.timers[slot] = this.deps.clock.setTimeout(() => void loop(), ms);
    };
    this.timers[slot] = this.deps.clock.setTimeout(() => void loop(), ms);
  }
}
