import { FleetBoard, type FleetLevel, type StepEnv } from './fleet-board.ts';
import { type Finding, type MetricId, type Reading, dedupeKeyOf, globMatch, isVibrationFault } from '../../core/index.ts';
import { type CompiledRule, type DevicePlan, planDevice } from '../rulesets/compile.ts';
import type { OperatingState, Ruleset } from '../rulesets/schema.ts';
import { type AlertState, type AlertStep, NORMAL, Phase, alertStep, isFlapping, phaseName } from './alert.ts';
import { decodeState, encodeState } from './state-codec.ts';

export interface EngineOptions {
  /**
   * A reading older than the newest one already seen for its device and metric by more than this is
   * late: it is still stored by ingest, but it does not drive alerts (it would rewind them), and it is
   * counted. Within the tolerance it is evaluated at the newest time seen, so time never runs backwards.
   */
  lateTolerance: number;
  /** Receives every finding (fire, escalate, resolve), synchronously, in order. */
  emit: (f: Finding) => void;
  /**
   * Clock-driven kinds are also evaluated whenever the arrival clock has moved this much since the last
   * tick (default 1 min). In a backtest the arrival clock is the data's own time, so a replay running far
   * faster than the wall clock still sees every silence.
   */
  tickEvery?: number;
}

/** Planned work on devices, a site or asset classes: while it lasts their rules neither learn nor judge. */
export interface Hold {
  id: string;
  start: number;
  end: number;
  /** Device ids or patterns with `*`; sites; asset classes. A device matching any is held. */
  devices?: readonly string[] | undefined;
  sites?: readonly string[] | undefined;
  classes?: readonly string[] | undefined;
}

/** A device's operating state: the indicator it is judged by, its running level, and warm-up. */
interface Operating {
  /** Index of the preferred indicator seen so far (Infinity: none yet). */
  ind: number;
  /** Usual running level of a `ratio` indicator. */
  level: number;
  run: boolean;
  /** Sample time until which it warms up after a start. */
  warm: number;
  /** Newest sample time seen, to tell a gap. */
  last: number;
}

// The running level follows roughly the last twenty running samples: fast enough to learn a new
// machine, slow enough that a single low sample does not move the line that tells a stop.
const RUNNING_LEVEL_WEIGHT = 0.05;

interface Instance {
  rule: CompiledRule;
  s: unknown;
  a: AlertState;
}

interface MetricSlot {
  /** Newest sample time and value seen. */
  t: number;
  v: number;
  list: Instance[];
  /** Changed since it was last written by {@link RuleEngine.snapshot}. */
  d: boolean;
}

interface DeviceSlot {
  id: string;
  site: string | undefined;
  plan: DevicePlan;
  byMetric: Map<string, CompiledRule[]>;
  metrics: Map<string, MetricSlot>;
  /** Device-wide instances (silence, compound) and the metrics each listens to (undefined: all). */
  wide: Instance[];
  wideMetrics: (ReadonlySet<string> | undefined)[];
  /** Newest sample time seen, and when (on the arrival clock) the device's last reading came. */
  t: number;
  at: number;
  /** Operating state, when the ruleset tells running from stopped. */
  op: Operating | undefined;
  /** Maintenance windows that cover this device. */
  holds: readonly Hold[];
  /** Its device-wide row (instances and newest time) changed since it was last written. */
  d: boolean;
}



export interface ActiveAlert {
  ruleId: string;
  deviceId: string;
  site: string | undefined;
  metric: string;
  fault: string;
  phase: 'pending' | 'firing' | 'recovering';
  severity: 'warning' | 'critical';
  since: number;
  firedAt: number | null;
  flapping: boolean;
  evidence: Record<string, unknown>;
}

export interface EngineStats {
  readings: number;
  evaluations: number;
  late: number;
  /** Readings not judged because the device was stopped or warming up, or under maintenance. */
  paused: number;
  findings: { fire: number; escalate: number; resolve: number };
}

/** An alert in a snapshot: `0` for one that never left normal (most of them; saves ~90 bytes each). Older snapshots hold the object. */
type SavedAlert = AlertState | 0;
type Snapshot = { site: string | null; t: number; r: Record<string, [string, unknown, SavedAlert]> };

const pristine = (a: AlertState): boolean =>
  a === NORMAL || (a.ph === Phase.Normal && a.sev === 0 && a.n === 0 && a.un === 0 && a.fires.length === 0 && Number.isNaN(a.since) && Number.isNaN(a.up) && Number.isNaN(a.firedAt) && a.src === undefined);
const saveAlert = (a: AlertState): SavedAlert => (pristine(a) ? 0 : a);
const loadAlert = (a: SavedAlert): AlertState => (a === 0 ? NORMAL : a);

const SEVERITY = ['warning', 'warning', 'critical'] as const;
const keyOf = (deviceId: string, metric: string) => `${deviceId}\u0001${metric}`;

/** Picks devices by their site (undefined: a device whose site is not known). */
export type SitePredicate = (site: string | undefined) => boolean;

/** One snapshotted state: key (`device\u0001metric`), JSON, and the device's site where known. */
export type StateRow = readonly [key: string, state: string, site?: string | null];

/**
 * Routes readings to rule instances and keeps their state, one instance per (rule, device, metric).
 * Rules are compiled for a device the first time it is seen. The engine is synchronous and does no
 * I/O: the caller feeds readings and clock ticks and persists {@link snapshot}s, so the same engine
 * runs live in the server and over a CSV in `vigil replay`.
 */
export class RuleEngine {
  private readonly devices = new Map<string, DeviceSlot>();
  /** Devices per declared machine (ruleset `devices[].machine`), for source attribution. */
  private readonly machines = new Map<string, DeviceSlot[]>();
  /** When (on the arrival clock) clock-driven kinds were last evaluated. */
  private tickedAt = -Infinity;
  private restored = new Map<string, Snapshot>();
  private holds: readonly Hold[] = [];
  /**
   * Devices that may have an alert that is not normal: every device whose alert state changed or was
   * restored. Reading alerts walks only these (and drops the ones found all normal again), not the fleet.
   */
  private readonly raised = new Set<DeviceSlot>();
  /** Shared views for rules that compare a device with others (fleet outliers). */
  private readonly env: StepEnv = { fleet: new FleetBoard() };
  /** The ruleset's running indicators by metric, with their order of preference. */
  private indicators = new Map<string, number>();
  readonly stats: EngineStats = { readings: 0, evaluations: 0, late: 0, paused: 0, findings: { fire: 0, escalate: 0, resolve: 0 } };

  constructor(
    private ruleset: Ruleset,
    private readonly opts: EngineOptions,
  ) {
    this.indicate(ruleset.operatingState);
  }

  private indicate(op: OperatingState | undefined): void {
    this.indicators = new Map(op?.running.map((r, i) => [r.metric, i]));
  }

  get activeRuleset(): Ruleset {
    return this.ruleset;
  }

  /** Evaluates readings of one site that arrived (on the clock) at `arrivedAt`. */
  ingest(site: string | undefined, readings: readonly Reading[], arrivedAt: number): void {
    const tol = this.opts.lateTolerance;
    let dev: DeviceSlot | undefined;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      if (dev === undefined || dev.id !== r.deviceId) {
        dev = this.devices.get(r.deviceId) ?? this.addDevice(r.deviceId, site);
        dev.at = arrivedAt;
      }
      const slot = dev.metrics.get(r.metric) ?? this.addMetric(dev, r.metric);
      if (r.ts < slot.t - tol) {
        this.stats.late++;
        continue;
      }
      this.stats.readings++;
      const now = r.ts > slot.t ? r.ts : slot.t;
      slot.t = now;
      slot.v = r.value;
      slot.d = true;
      dev.d = true;
      if ((dev.op !== undefined && !this.running(dev, dev.op, r, now)) || (dev.holds.length > 0 && held(dev.holds, now))) {
        this.paused(dev, r, now);
        continue;
      }
      const list = slot.list;
      for (let j = 0; j < list.length; j++) this.evaluate(list[j]!, dev, r, now, slot.v);
      if (dev.wide.length > 0) {
        const dnow = now > dev.t ? now : dev.t;
        dev.t = dnow;
        for (let j = 0; j < dev.wide.length; j++) {
          const only = dev.wideMetrics[j];
          if (only === undefined || only.has(r.metric)) this.evaluate(dev.wide[j]!, dev, r, dnow, r.value);
        }
      } else if (now > dev.t) dev.t = now;
    }
    if (arrivedAt - this.tickedAt >= (this.opts.tickEvery ?? 60_000)) this.tick(arrivedAt);
  }

  /**
   * Whether a device runs, judged by the most preferred indicator it reports; a start, or a gap in its
   * data, begins a warm-up. Mutates the device's operating state: it is the engine's, not a rule's.
   */
  private running(dev: DeviceSlot, o: Operating, r: Reading, now: number): boolean {
    const cfg = this.ruleset.operatingState!;
    if (now - o.last > cfg.gap) o.warm = now + cfg.warmUp;
    if (!(now <= o.last)) o.last = now;
    const idx = this.indicators.get(r.metric);
    if (idx !== undefined && idx <= o.ind) {
      o.ind = idx;
      const ind = cfg.running[idx]!;
      let run: boolean;
      if (ind.above !== undefined) run = r.value > ind.above;
      else {
        if (Number.isNaN(o.level)) o.level = r.value;
        run = r.value > ind.ratio! * o.level;
        if (run) o.level += RUNNING_LEVEL_WEIGHT * (r.value - o.level);
      }
      if (run && !o.run) o.warm = now + cfg.warmUp;
      o.run = run;
    }
    return o.run && now >= o.warm;
  }

  /** A reading of a paused device: only the kinds that watch for absence hear of it (it did arrive). */
  private paused(dev: DeviceSlot, r: Reading, now: number): void {
    this.stats.paused++;
    if (now > dev.t) dev.t = now;
    for (let j = 0; j < dev.wide.length; j++) {
      const inst = dev.wide[j]!;
      if (inst.rule.kind.tick === undefined) continue;
      const only = dev.wideMetrics[j];
      if (only === undefined || only.has(r.metric)) this.evaluate(inst, dev, r, dev.t, r.value);
    }
  }

  /** Replaces the maintenance windows in force (the rule service keeps them). */
  setHolds(holds: readonly Hold[]): void {
    this.holds = holds;
    for (const dev of this.devices.values()) dev.holds = this.holdsOf(dev);
  }

  private holdsOf(dev: DeviceSlot): readonly Hold[] {
    const cls = dev.plan.assetClass;
    return this.holds.filter(
      (h) => h.devices?.some((p) => globMatch(p, dev.id)) || (dev.site !== undefined && h.sites?.includes(dev.site)) || (cls !== undefined && h.classes?.includes(cls)),
    );
  }

  /**
   * Drives the clock-watching kinds (silence). A device's "now" is its newest sample time plus the
   * clock time since its last reading arrived: how long nothing has come from it. Live, the clock is
   * the wall clock, so a device whose history is being replayed or backfilled is not silent while the
   * data flows, whatever its sample times; in a backtest the clock is the data's own time.
   */
  tick(clockNow: number): void {
    // Nothing at all arrived for longer than a gap (a replayed record that pauses, or a server that
    // was down): every device's silence counts from now, as a gap is a stop, not each device going quiet.
    const gap = this.ruleset.operatingState?.gap;
    if (gap !== undefined && clockNow - this.tickedAt > gap && Number.isFinite(this.tickedAt)) for (const dev of this.devices.values()) dev.at = Math.max(dev.at, clockNow);
    this.tickedAt = clockNow;
    for (const dev of this.devices.values()) {
      if (dev.wide.length === 0 || dev.t === -Infinity) continue;
      const now = dev.t + Math.max(0, clockNow - dev.at);
      // A machine that stopped, or planned work, explains the quiet.
      if ((dev.op !== undefined && !dev.op.run) || (dev.holds.length > 0 && held(dev.holds, now))) continue;
      for (const inst of dev.wide) {
        const tick = inst.rule.kind.tick;
        if (!tick) continue;
        const step = tick(inst.rule.prepared, inst.s, now, inst.a.ph !== Phase.Normal);
        inst.s = step.state;
        dev.d = true;
        this.alert(inst, dev, alertStep(inst.a, step.level, step.hold, now, inst.rule.alert), now, undefined);
      }
    }
  }

  private evaluate(inst: Instance, dev: DeviceSlot, r: Reading, now: number, value: number): void {
    this.stats.evaluations++;
    const rule = inst.rule;
    const normal = inst.a.ph === Phase.Normal;
    const step = rule.kind.step(rule.prepared, inst.s, r, now, !normal, this.env);
    inst.s = step.state;
    // The steady state of a healthy fleet: nothing raised, nothing to change (alertStep would return
    // the same state); skipping it saves a call and an allocation on most evaluations.
    if (normal && step.level === 0) return;
    const a = alertStep(inst.a, step.level, step.hold, now, rule.alert);
    this.raised.add(dev);
    if (a.event === undefined) inst.a = a.state;
    else this.alert(inst, dev, a, now, value);
  }

  private alert(inst: Instance, dev: DeviceSlot, a: AlertStep, now: number, value: number | undefined): void {
    const before = inst.a;
    inst.a = a.state;
    this.raised.add(dev);
    if (a.event === undefined) return;
    const rule = inst.rule;
    this.stats.findings[a.event]++;
    // A device-wide alert can be fired by a site tick and resolved by a reading of that device which
    // is slightly behind the site's time; a finding never predates the phase it ends.
    if (!Number.isNaN(before.since) && before.since > now) now = before.since;
    const sev = a.event === 'resolve' ? before.sev : a.state.sev;
    let src = before.src;
    if (a.event === 'fire') {
      src = this.sourceOf(dev, rule.fault);
      if (src !== undefined) inst.a = { ...inst.a, src };
      else if (inst.a.src !== undefined) inst.a = { ...inst.a, src: undefined };
    } else if (a.event === 'resolve' && inst.a.src !== undefined) inst.a = { ...inst.a, src: undefined };
    const source = src !== undefined ? this.sourceAlert(src) : undefined;
    this.opts.emit({
      ruleId: rule.ruleId,
      deviceId: dev.id,
      metric: rule.metric,
      severity: SEVERITY[sev],
      event: a.event,
      fault: rule.fault,
      at: Math.round(now),
      evidence: {
        ...rule.kind.evidence(rule.prepared, inst.s, value, this.env),
        kind: rule.kind.kind,
        ...(a.event === 'fire' ? { refire: a.refire } : { firedAt: a.state.firedAt }),
        ...(isFlapping(a.state, rule.alert) ? { flapping: true } : {}),
        ...(dev.plan.assetClass ? { assetClass: dev.plan.assetClass } : {}),
        ...(src !== undefined ? { transmitted: true, source: src, machine: dev.plan.machine } : {}),
      },
      // Transmitted vibration is evidence on the source's problem, so it joins the source's ticket.
      dedupeKey: src !== undefined ? dedupeKeyOf(src, source?.fault ?? rule.fault) : dedupeKeyOf(dev.id, rule.fault),
      ...(dev.site !== undefined ? { site: dev.site } : {}),
    });
  }

  /**
   * The neighbour on the same machine whose own vibration alert fired first and still holds, if any:
   * the likeliest source of what this device now feels. A device is its own source when nothing on its
   * machine fired before it, so the sensor that changed first names the problem.
   */
  private sourceOf(dev: DeviceSlot, fault: string): string | undefined {
    const machine = dev.plan.machine;
    if (machine === undefined || !isVibrationFault(fault as Finding['fault'])) return undefined;
    let best: { id: string; at: number } | undefined;
    for (const peer of this.machines.get(machine) ?? []) {
      if (peer === dev) continue;
      const a = this.ownVibrationAlert(peer);
      if (a && (best === undefined || a.firedAt < best.at)) best = { id: peer.id, at: a.firedAt };
    }
    return best?.id;
  }

  /** The earliest-fired vibration alert of a device that is its own (not transmitted) and still holds. */
  private ownVibrationAlert(dev: DeviceSlot): { firedAt: number; fault: Finding['fault'] } | undefined {
    let best: { firedAt: number; fault: Finding['fault'] } | undefined;
    const each = (i: Instance) => {
      if ((i.a.ph !== Phase.Firing && i.a.ph !== Phase.Recovering) || i.a.src !== undefined || !isVibrationFault(i.rule.fault)) return;
      // A diagnosis names the problem better than the symptom fired at the same time.
      if (best === undefined || i.a.firedAt < best.firedAt || (i.a.firedAt === best.firedAt && best.fault === 'vibration')) best = { firedAt: i.a.firedAt, fault: i.rule.fault };
    };
    for (const i of dev.wide) each(i);
    for (const slot of dev.metrics.values()) for (const i of slot.list) each(i);
    return best;
  }

  private sourceAlert(deviceId: string): { fault: Finding['fault'] } | undefined {
    const dev = this.devices.get(deviceId);
    return dev ? this.ownVibrationAlert(dev) : undefined;
  }

  private joinMachine(dev: DeviceSlot, previous: string | undefined): void {
    if (previous === dev.plan.machine) return;
    if (previous !== undefined) {
      const list = this.machines.get(previous)?.filter((d) => d !== dev) ?? [];
      if (list.length > 0) this.machines.set(previous, list);
      else this.machines.delete(previous);
    }
    if (dev.plan.machine !== undefined) this.machines.set(dev.plan.machine, [...(this.machines.get(dev.plan.machine) ?? []), dev]);
  }

  private addDevice(id: string, site: string | undefined): DeviceSlot {
    const plan = planDevice(this.ruleset, id, site);
    const dev: DeviceSlot = { id, site, plan, byMetric: new Map(), metrics: new Map(), wide: [], wideMetrics: [], t: -Infinity, at: -Infinity, op: undefined, holds: [], d: true };
    this.arrange(dev, plan, new Map());
    this.devices.set(id, dev);
    return dev;
  }

  /** Lays out a device's instances from a plan, carrying over state from `old` where it still fits. */
  private arrange(dev: DeviceSlot, plan: DevicePlan, old: Map<string, Instance>): void {
    const machine = this.devices.has(dev.id) ? dev.plan.machine : undefined;
    dev.plan = plan;
    this.joinMachine(dev, machine);
    dev.holds = this.holdsOf(dev);
    if (this.ruleset.operatingState === undefined) dev.op = undefined;
    else dev.op ??= { ind: Infinity, level: NaN, run: true, warm: -Infinity, last: NaN };
    dev.byMetric = new Map();
    for (const r of plan.rules) {
      if (r.metric === '*') continue;
      const list = dev.byMetric.get(r.metric) ?? [];
      list.push(r);
      dev.byMetric.set(r.metric, list);
    }
    const wideSaved = this.takeRestored(dev, '*');
    dev.wide = plan.rules.filter((r) => r.metric === '*').map((r) => this.instance(r, old.get(keyOf(r.ruleId, '*')), wideSaved));
    dev.wideMetrics = dev.wide.map((i) => {
      const m = i.rule.kind.metrics?.(i.rule.prepared.params);
      return m ? new Set(m) : undefined;
    });
    for (const [metric, slot] of dev.metrics) {
      slot.list = (dev.byMetric.get(metric) ?? []).map((r) => this.instance(r, old.get(keyOf(r.ruleId, metric)), undefined));
      slot.d = true;
    }
    dev.d = true;
    if (hasRaised(dev)) this.raised.add(dev);
  }

  private addMetric(dev: DeviceSlot, metric: MetricId): MetricSlot {
    const saved = this.takeRestored(dev, metric);
    const slot: MetricSlot = { t: saved?.t ?? -Infinity, v: NaN, list: (dev.byMetric.get(metric) ?? []).map((r) => this.instance(r, undefined, saved)), d: true };
    dev.metrics.set(metric, slot);
    if (saved && hasRaised(dev)) this.raised.add(dev);
    return slot;
  }

  private takeRestored(dev: DeviceSlot, metric: string): Snapshot | undefined {
    if (this.restored.size === 0) return undefined;
    const key = keyOf(dev.id, metric);
    const saved = this.restored.get(key);
    if (saved) {
      this.restored.delete(key);
      if (metric === '*' && saved.t > dev.t) dev.t = saved.t;
    }
    return saved;
  }

  private instance(rule: CompiledRule, previous: Instance | undefined, saved: Snapshot | undefined): Instance {
    if (previous && previous.rule.kind === rule.kind && (rule.kind.compatible?.(previous.rule.prepared.params, rule.prepared.params) ?? true)) {
      return { rule, s: previous.s, a: previous.a };
    }
    const s = saved?.r[rule.ruleId];
    if (s && s[0] === rule.kind.kind) return { rule, s: s[1], a: loadAlert(s[2]) };
    return { rule, s: rule.kind.init(rule.prepared), a: previous?.a ?? NORMAL };
  }

  /**
   * Switches to another ruleset without losing learned state: every (rule, device, metric) that still
   * exists with a compatible kind and window keeps its state and alert. Alerts of rules that are gone
   * are resolved, so their tickets hear of it.
   */
  use(ruleset: Ruleset): void {
    this.ruleset = ruleset;
    this.indicate(ruleset.operatingState);
    for (const dev of this.devices.values()) {
      const old = new Map<string, Instance>();
      for (const i of dev.wide) old.set(keyOf(i.rule.ruleId, '*'), i);
      for (const [metric, slot] of dev.metrics) for (const i of slot.list) old.set(keyOf(i.rule.ruleId, metric), i);
      this.arrange(dev, planDevice(ruleset, dev.id, dev.site), old);
      const keptRules = new Set(dev.plan.rules.map((r) => keyOf(r.ruleId, r.metric)));
      for (const [k, inst] of old) {
        if (keptRules.has(k) || inst.a.ph === Phase.Normal || inst.a.ph === Phase.Pending) continue;
        const at = dev.t;
        this.stats.findings.resolve++;
        this.opts.emit({
          ruleId: inst.rule.ruleId,
          deviceId: dev.id,
          metric: inst.rule.metric,
          severity: SEVERITY[inst.a.sev],
          event: 'resolve',
          fault: inst.rule.fault,
          at: Number.isFinite(at) ? Math.round(at) : 0,
          evidence: { reason: 'the rule is no longer in the active ruleset for this device', kind: inst.rule.kind.kind, firedAt: inst.a.firedAt },
          dedupeKey: dedupeKeyOf(dev.id, inst.rule.fault),
          ...(dev.site !== undefined ? { site: dev.site } : {}),
        });
      }
    }
  }

  /**
   * Every (device, metric) state as JSON, keyed by `device\u0001metric`: what a restart needs. With
   * `changedOnly`, only the rows that changed since the last snapshot (a reading, a tick of a device-wide
   * rule, a new layout): a device that sent nothing is not written again. Either way, what it yields
   * counts as written; a caller whose write failed asks for everything next time.
   */
  *snapshot(opts: { changedOnly?: boolean; only?: SitePredicate } = {}): Generator<StateRow> {
    const all = !opts.changedOnly;
    const only = opts.only;
    for (const dev of this.devices.values()) {
      if (only && !only(dev.site)) continue;
      if (dev.wide.length > 0 && (all || dev.d)) {
        const wide: Snapshot = { site: dev.site ?? null, t: dev.t, r: {} };
        for (const i of dev.wide) wide.r[i.rule.ruleId] = [i.rule.kind.kind, i.s, saveAlert(i.a)];
        dev.d = false;
        yield [keyOf(dev.id, '*'), encodeState(wide), dev.site ?? null];
      }
      for (const [metric, slot] of dev.metrics) {
        if (slot.list.length === 0 || !(all || slot.d)) continue;
        slot.d = false;
        const snap: Snapshot = { site: dev.site ?? null, t: slot.t, r: {} };
        for (const i of slot.list) snap.r[i.rule.ruleId] = [i.rule.kind.kind, i.s, saveAlert(i.a)];
        yield [keyOf(dev.id, metric), encodeState(snap), dev.site ?? null];
      }
    }
    // State restored but not yet claimed by a reading is kept, not dropped.
    for (const [k, s] of this.restored) if (!only || only(s.site ?? undefined)) yield [k, encodeState(s), s.site ?? null];
  }

  /** The fleet board's levels published here and not yet shared (see {@link FleetBoard.localChanges}). */
  fleetChanges(): FleetLevel[] {
    return this.env.fleet.localChanges();
  }

  /** Records levels of {@link fleetChanges} as shared with the other servers. */
  fleetShared(levels: readonly FleetLevel[]): void {
    this.env.fleet.markShared(levels);
  }

  /** Levels other servers published, for fleet rules to compare with; returns how many were new. */
  mergeFleet(levels: readonly FleetLevel[]): number {
    return this.env.fleet.merge(levels);
  }

  /**
   * Drops every device whose site `only` picks, with its state and alerts, and restored state not yet
   * claimed: its shard moved to another server, which resumes it from the last snapshot. Nothing is
   * emitted (the alerts live on with the next owner). Returns how many devices went.
   */
  forget(only: SitePredicate): number {
    let n = 0;
    for (const dev of [...this.devices.values()]) {
      if (!only(dev.site)) continue;
      this.devices.delete(dev.id);
      this.raised.delete(dev);
      // Another server holds it now: it is no longer a sibling here.
      this.env.fleet.forget(dev.id);
      const machine = dev.plan.machine;
      if (machine !== undefined) {
        const list = this.machines.get(machine)?.filter((d) => d !== dev) ?? [];
        if (list.length > 0) this.machines.set(machine, list);
        else this.machines.delete(machine);
      }
      n++;
    }
    for (const [k, saved] of [...this.restored]) if (only(saved.site ?? undefined)) this.restored.delete(k);
    return n;
  }

  /**
   * Takes back a snapshot: every device in it is laid out again under the current ruleset with its
   * learned state and alerts, so active alerts are visible at once, not only after the next reading.
   */
  restore(rows: Iterable<StateRow>, clockNow?: number): number {
    let n = 0;
    for (const [key, json] of rows) {
      this.restored.set(key, decodeState(json) as Snapshot);
      n++;
    }
    for (const key of [...this.restored.keys()]) {
      const saved = this.restored.get(key);
      if (!saved) continue; // claimed by a device laid out earlier in this loop
      const [deviceId, metric] = key.split('\u0001') as [string, string];
      let dev = this.devices.get(deviceId);
      // State this engine already keeps live wins over a saved copy (which would never be claimed, and
      // would be written beside it under the same key).
      if (dev && (metric === '*' || dev.metrics.has(metric))) {
        this.restored.delete(key);
        continue;
      }
      if (!dev) {
        dev = this.addDevice(deviceId, saved.site ?? undefined);
        // Silence counts from the restart, not from the last reading before it: the gateways have
        // kept the readings of the downtime and are about to deliver them.
        dev.at = clockNow ?? (Number.isFinite(dev.t) ? dev.t : -Infinity);
      }
      if (metric !== '*' && !dev.metrics.has(metric)) this.addMetric(dev, metric as MetricId);
    }
    return n;
  }

  /** Alerts that are not normal, with their evidence as it stands now. */
  alerts(filter?: { deviceId?: string }): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    const one = filter?.deviceId !== undefined ? this.devices.get(filter.deviceId) : undefined;
    for (const dev of filter?.deviceId === undefined ? this.stillRaised() : one ? [one] : []) {
      const each = (i: Instance, value: number | undefined) => {
        if (i.a.ph === Phase.Normal) return;
        out.push({
          ruleId: i.rule.ruleId,
          deviceId: dev.id,
          site: dev.site,
          metric: i.rule.metric,
          fault: i.rule.fault,
          phase: phaseName(i.a) as ActiveAlert['phase'],
          severity: SEVERITY[i.a.sev],
          since: i.a.since,
          firedAt: Number.isNaN(i.a.firedAt) || i.a.ph === Phase.Pending ? null : i.a.firedAt,
          flapping: isFlapping(i.a, i.rule.alert),
          evidence: i.rule.kind.evidence(i.rule.prepared, i.s, value, this.env),
        });
      };
      for (const i of dev.wide) each(i, undefined);
      for (const slot of dev.metrics.values()) for (const i of slot.list) each(i, slot.v);
    }
    return out;
  }

  /**
   * Alerts that fired and still hold (firing or recovering) by device, without evidence: what the
   * health of a whole fleet needs, at a fraction of {@link alerts}' cost.
   */
  firing(): Map<string, { ruleId: string; fault: string; phase: 'firing' | 'recovering'; severity: 'warning' | 'critical' }[]> {
    const out = new Map<string, { ruleId: string; fault: string; phase: 'firing' | 'recovering'; severity: 'warning' | 'critical' }[]>();
    for (const dev of this.stillRaised()) {
      const each = (i: Instance) => {
        if (i.a.ph !== Phase.Firing && i.a.ph !== Phase.Recovering) return;
        let list = out.get(dev.id);
        if (!list) out.set(dev.id, (list = []));
        list.push({ ruleId: i.rule.ruleId, fault: i.rule.fault, phase: i.a.ph === Phase.Firing ? 'firing' : 'recovering', severity: SEVERITY[i.a.sev] });
      };
      for (const i of dev.wide) each(i);
      for (const slot of dev.metrics.values()) for (const i of slot.list) each(i);
    }
    return out;
  }

  /** The devices of {@link raised} that still have an alert that is not normal; forgets the others. */
  private stillRaised(): DeviceSlot[] {
    const out: DeviceSlot[] = [];
    for (const dev of this.raised) {
      if (hasRaised(dev)) out.push(dev);
      else this.raised.delete(dev);
    }
    return out;
  }

  /** The learned normal of each (baseline rule, metric) of a device: level and typical deviation. */
  baselines(deviceId: string): { ruleId: string; metric: string; baseline: number; deviation: number; measure: string; learnedFrom: number }[] {
    const dev = this.devices.get(deviceId);
    if (!dev) return [];
    const out: { ruleId: string; metric: string; baseline: number; deviation: number; measure: string; learnedFrom: number }[] = [];
    for (const slot of dev.metrics.values()) {
      for (const i of slot.list) {
        if (i.rule.kind.kind !== 'baseline') continue;
        const e = i.rule.kind.evidence(i.rule.prepared, i.s, slot.v) as { baseline?: number; deviation?: number; measure?: string; learnedFrom?: number };
        if (typeof e.baseline !== 'number' || !Number.isFinite(e.baseline)) continue;
        out.push({ ruleId: i.rule.ruleId, metric: i.rule.metric, baseline: e.baseline, deviation: e.deviation ?? 0, measure: e.measure ?? 'deviations', learnedFrom: e.learnedFrom ?? 0 });
      }
    }
    return out;
  }

  /** The plan (rules that apply, and those skipped with a reason) of every device seen. */
  plans(): DevicePlan[] {
    return [...this.devices.values()].map((d) => d.plan);
  }

  /** The plan of one device, if it has been seen. */
  plan(deviceId: string): DevicePlan | undefined {
    return this.devices.get(deviceId)?.plan;
  }

  /** Device ids and sites seen, for dry runs of another ruleset. */
  seen(): { deviceId: string; site: string | undefined }[] {
    return [...this.devices.values()].map((d) => ({ deviceId: d.id, site: d.site }));
  }
}

const abnormal = (i: Instance): boolean => i.a.ph !== Phase.Normal;

function hasRaised(dev: DeviceSlot): boolean {
  if (dev.wide.some(abnormal)) return true;
  for (const slot of dev.metrics.values()) if (slot.list.some(abnormal)) return true;
  return false;
}

function held(holds: readonly Hold[], now: number): boolean {
  for (const h of holds) if (now >= h.start && now < h.end) return true;
  return false;
}
