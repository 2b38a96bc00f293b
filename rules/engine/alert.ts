import type { FindingEvent } from '../../core/index.ts';
import type { Level } from '../kinds/types.ts';

export interface AlertOptions {
  /** The condition must hold this long (and for `minSamples` readings) before the alert fires or escalates. */
  for: number;
  minSamples: number;
  /** The condition must stay below its clear limits this long before the alert resolves. */
  clearFor: number;
  /** Flap suppression: an alert that fires more than `max` times within `window` holds until quiet for `window`. */
  flap: { window: number; max: number };
}

export const Phase = { Normal: 0, Pending: 1, Firing: 2, Recovering: 3 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const PHASES = ['normal', 'pending', 'firing', 'recovering'] as const;

/**
 * The state of one alert (rule, device, metric). Plain data, so it snapshots to JSON.
 * `sev` is the level it fires or fired at; `since` when the phase began; `n` readings seen in it;
 * `up`/`un` a pending escalation; `fires` recent fire times (for flap detection); `firedAt` the
 * start of the current alert.
 */
export interface AlertState {
  ph: Phase;
  sev: Level;
  since: number;
  n: number;
  up: number;
  un: number;
  fires: number[];
  firedAt: number;
  /** Set while the alert is another device's vibration felt here: that device's id (see the engine). */
  src?: string;
}

export const NORMAL: AlertState = Object.freeze({ ph: Phase.Normal, sev: 0, since: NaN, n: 0, up: NaN, un: 0, fires: [], firedAt: NaN }) as AlertState;

export interface AlertStep {
  state: AlertState;
  /** Set when the step emits a finding. */
  event: FindingEvent | undefined;
  /** Whether this fire came within the flap window of an earlier one. */
  refire: boolean;
}

const quiet = (state: AlertState): AlertStep => ({ state, event: undefined, refire: false });

export const isFlapping = (s: AlertState, o: AlertOptions): boolean => s.fires.length > o.flap.max;

/**
 * `normal → pending → firing → recovering → normal`. Pure: returns the same state object when nothing
 * changed, so the steady state costs no allocation. Severity only rises within one alert (escalate);
 * it falls back only when the alert resolves, so one problem is one alert and one ticket.
 */
export function alertStep(s: AlertState, level: Level, hold: Level, now: number, o: AlertOptions): AlertStep {
  switch (s.ph) {
    case Phase.Normal: {
      if (level === 0) return quiet(s);
      return pendingOrFire({ ...s, ph: Phase.Pending, sev: level, since: now, n: 1 }, now, o);
    }
    case Phase.Pending: {
      if (level === 0) return quiet({ ...s, ph: Phase.Normal, sev: 0, since: now, n: 0 });
      return pendingOrFire({ ...s, sev: level, n: s.n + 1 }, now, o);
    }
    case Phase.Firing: {
      if (hold === 0) return recoverOrResolve({ ...s, ph: Phase.Recovering, since: now, n: 0, up: NaN, un: 0 }, now, o);
      if (level <= s.sev) return Number.isNaN(s.up) ? quiet(s) : quiet({ ...s, up: NaN, un: 0 });
      const up = Number.isNaN(s.up) ? now : s.up;
      const un = s.un + 1;
      if (now - up >= o.for && un >= o.minSamples) return { state: { ...s, sev: level, up: NaN, un: 0 }, event: 'escalate', refire: false };
      return quiet({ ...s, up, un });
    }
    case Phase.Recovering: {
      if (hold > 0) return quiet({ ...s, ph: Phase.Firing, since: s.firedAt, n: 0 });
      return recoverOrResolve(s, now, o);
    }
  }
}

function recoverOrResolve(s: AlertState, now: number, o: AlertOptions): AlertStep {
  // A flapping alert holds until it has been quiet for the whole flap window.
  const clearFor = isFlapping(s, o) ? Math.max(o.clearFor, o.flap.window) : o.clearFor;
  if (now - s.since >= clearFor) return { state: { ...s, ph: Phase.Normal, since: now, n: 0 }, event: 'resolve', refire: false };
  return quiet(s);
}

function pendingOrFire(s: AlertState, now: number, o: AlertOptions): AlertStep {
  if (now - s.since < o.for || s.n < o.minSamples) return quiet(s);
  const fires = s.fires.filter((t) => now - t < o.flap.window);
  const refire = fires.length > 0;
  fires.push(now);
  return { state: { ...s, ph: Phase.Firing, since: now, n: 0, fires, firedAt: now }, event: 'fire', refire };
}

export const phaseName = (s: AlertState): (typeof PHASES)[number] => PHASES[s.ph];
