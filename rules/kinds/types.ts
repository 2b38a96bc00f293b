import type { z } from 'zod';
import type { Reading } from '../../core/index.ts';
import type { StepEnv } from '../engine/fleet-board.ts';

/** 0 normal, 1 warning, 2 critical. */
export type Level = 0 | 1 | 2;

/**
 * Where a score raises and clears each level. `dir` 1 means higher is worse (a vibration limit),
 * -1 lower is worse (time left until a predicted crossing). A level is raised when the score passes its
 * limit and held until the score falls back past its clear limit, so a value hovering at a limit
 * cannot flap the alert (hysteresis). NaN disables a level.
 */
export interface Limits {
  dir: 1 | -1;
  warning: number;
  critical: number;
  clearWarning: number;
  clearCritical: number;
}

/**
 * The result of one step: the state and the graded condition. A step may update its state in place and
 * hand the same object back (the engine owns each instance's state and nothing else holds it), and the
 * result itself is only valid until the next step: read it at once, keep neither.
 */
export interface Step<S> {
  state: S;
  /** The level the condition raises now. */
  level: Level;
  /** The level the condition still holds when judged by the clear limits (≥ level). */
  hold: Level;
}

/**
 * What a rule instance knows about its device when it is compiled: its site, asset class and vibration
 * zones, if chosen. Not the device id: every device alike shares one compiled rule.
 */
export interface DeviceContext {
  /** The rule's hysteresis (fraction of a limit), for kinds that grade sub-conditions themselves. */
  hysteresis: number;
  site: string | undefined;
  assetClass: string | undefined;
  zones: Zones | undefined;
  /** The rule's id and the device's equipment model (ruleset device entries): what fleet rules group siblings by. */
  ruleId?: string | undefined;
  model?: string | undefined;
}

/** Zone boundaries of a vibration severity standard, in mm/s RMS velocity. */
export interface Zones {
  ref: string;
  ab: number;
  bc: number;
  cd: number;
}

export interface RawLimits {
  dir: 1 | -1;
  warning?: number | undefined;
  critical?: number | undefined;
}

/** A kind's parameters resolved for one device: its own params plus the limits its score is graded by. */
export interface Prepared<P> {
  params: P;
  limits: Limits;
  ctx: DeviceContext;
}

/**
 * A rule kind. Lifecycle: `prepare` once per (rule, device) when a ruleset is compiled; then `step` per
 * reading, and `tick` on the clock for kinds that watch for absence. `step` and `tick` are pure:
 * `(state, reading, now) → (state, level)`, no clock, no I/O, so the engine can snapshot, restore and
 * replay them and a backtest runs exactly the code that runs live.
 */
export interface RuleKind<P = unknown, S = unknown> {
  readonly kind: string;
  readonly summary: string;
  /** The kind's `params` in a ruleset; parsed once at compile time. */
  readonly params: z.ZodType<P>;
  /** `device`: one instance per device that sees every reading of it (silence, compound). */
  readonly scope: 'metric' | 'device';
  /**
   * Where the score raises each level for one device, or why the rule does not apply to it (e.g. no
   * vibration zones chosen for its asset class). The rule's hysteresis turns these into {@link Limits}.
   */
  prepare(params: P, ctx: DeviceContext): RawLimits | string;
  /** Kinds that resolve more than limits per device (compound's sub-conditions) keep it here. */
  resolve?(params: P, ctx: DeviceContext): P;
  init(p: Prepared<P>): S;
  /**
   * One reading. `now` is its sample time, or the latest sample time seen when it arrived out of order.
   * `frozen` is true while this rule's alert is active: learning kinds must not learn from it then, so a
   * slowly developing fault is not absorbed into "normal".
   */
  step(p: Prepared<P>, state: S, r: Reading, now: number, frozen: boolean, env?: StepEnv): Step<S>;
  /** Clock-driven evaluation (kinds that watch for absence). */
  tick?(p: Prepared<P>, state: S, now: number, frozen: boolean): Step<S>;
  /** Figures that justify the current level, attached to findings (not computed on the hot path). */
  evidence(p: Prepared<P>, state: S, value: number | undefined, env?: StepEnv): Record<string, unknown>;
  /** Whether state learned under `before` can carry on under `after` (a live ruleset change). */
  compatible?(before: P, after: P): boolean;
  /** Metrics a device-scoped instance needs to see; undefined: every reading of the device. */
  metrics?(params: P): readonly string[] | undefined;
}

export function limits(dir: 1 | -1, warning: number | undefined, critical: number | undefined, hysteresis: number, clear?: { warning?: number; critical?: number }): Limits {
  const w = warning ?? NaN;
  const c = critical ?? NaN;
  // Clearing sits `hysteresis` of the limit on the good side of it, unless given explicitly.
  const back = (x: number) => (dir === 1 ? x - Math.abs(x) * hysteresis : x + Math.abs(x) * hysteresis);
  return { dir, warning: w, critical: c, clearWarning: clear?.warning ?? back(w), clearCritical: clear?.critical ?? back(c) };
}

/** The level a score raises. NaN (no opinion, e.g. still learning) raises nothing. */
export function levelOf(score: number, l: Limits): Level {
  const s = l.dir * score;
  if (s >= l.dir * l.critical) return 2;
  if (s >= l.dir * l.warning) return 1;
  return 0;
}

/** The level a score still holds by the clear limits. */
export function holdOf(score: number, l: Limits): Level {
  const s = l.dir * score;
  if (s > l.dir * l.clearCritical) return 2;
  if (s > l.dir * l.clearWarning) return 1;
  return 0;
}

// One result object for every graded step: a step runs for every reading and rule, and its result is
// read at once (the engine, compound), so a fresh object each time is only work for the collector.
const result: Step<unknown> = { state: undefined, level: 0, hold: 0 };

export function graded<S>(state: S, score: number, l: Limits): Step<S> {
  const level = levelOf(score, l);
  const hold = holdOf(score, l);
  result.state = state;
  result.level = level;
  result.hold = hold > level ? hold : level;
  return result as Step<S>;
}

/** A kind with its parameter and state types erased, as the registry and engine hold them. */
export type AnyKind = RuleKind<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function defineKind<P, S>(k: RuleKind<P, S>): RuleKind<P, S> {
  return k;
}
