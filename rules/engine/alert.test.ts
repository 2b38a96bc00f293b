import { describe, expect, it } from 'vitest';
import type { Level } from '../kinds/types.ts';
import { type AlertOptions, type AlertState, NORMAL, Phase, alertStep, phaseName } from './alert.ts';

const MIN = 60_000;
const opts: AlertOptions = { for: 10 * MIN, minSamples: 3, clearFor: 30 * MIN, flap: { window: 24 * 60 * MIN, max: 1 } };

/** Feeds (level, hold) once a minute and records the events with their minute. */
function run(steps: [Level, Level][], o = opts, start: AlertState = NORMAL) {
  let s = start;
  const events: string[] = [];
  steps.forEach(([level, hold], i) => {
    const r = alertStep(s, level, hold, i * MIN, o);
    s = r.state;
    if (r.event) events.push(`${i}:${r.event}:${['-', 'warning', 'critical'][r.state.sev]}${r.refire ? ':refire' : ''}`);
  });
  return { events, state: s };
}
const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

describe('alert state machine', () => {
  it('fires only after the condition has held for `for` and minSamples', () => {
    const { events } = run([...times(5, [1, 1] as [Level, Level]), [0, 0], ...times(12, [1, 1] as [Level, Level])]);
    // The first run of 5 minutes is too short; the second fires 10 minutes after it began (minute 6).
    expect(events).toEqual(['16:fire:warning']);
  });

  it('does not allocate a new state when nothing changes', () => {
    const r1 = alertStep(NORMAL, 0, 0, 0, opts);
    expect(r1.state).toBe(NORMAL);
  });

  it('clears only below the clear limit (hold) and only after clearFor', () => {
    const firing: [Level, Level][] = times(11, [1, 1]);
    // Level drops to 0 but the value is still above the clear limit (hold 1): stays firing.
    const hovering: [Level, Level][] = times(60, [0, 1]);
    const clear: [Level, Level][] = times(31, [0, 0]);
    const { events, state } = run([...firing, ...hovering, ...clear]);
    expect(events).toEqual(['10:fire:warning', '101:resolve:warning']);
    expect(phaseName(state)).toBe('normal');
  });

  it('returns to firing without a new finding when the condition comes back while recovering', () => {
    const { events } = run([...times(11, [1, 1] as [Level, Level]), ...times(20, [0, 0] as [Level, Level]), ...times(5, [1, 1] as [Level, Level]), ...times(31, [0, 0] as [Level, Level])]);
    expect(events).toEqual(['10:fire:warning', '66:resolve:warning']);
  });

  it('escalates within one alert after the higher level holds for `for`, and never de-escalates', () => {
    const { events, state } = run([...times(11, [1, 1] as [Level, Level]), ...times(11, [2, 2] as [Level, Level]), ...times(10, [1, 1] as [Level, Level])]);
    expect(events).toEqual(['10:fire:warning', '21:escalate:critical']);
    expect(state.sev).toBe(2);
    expect(state.ph).toBe(Phase.Firing);
  });

  it('fires at the level reached during pending', () => {
    const { events } = run(times(11, [2, 2] as [Level, Level]));
    expect(events).toEqual(['10:fire:critical']);
  });

  it('suppresses flapping: a second fire within the flap window holds until quiet for the whole window', () => {
    const cycle: [Level, Level][] = [...times(11, [1, 1] as [Level, Level]), ...times(40, [0, 0] as [Level, Level])];
    const o = { ...opts, flap: { window: 6 * 60 * MIN, max: 1 } };
    const { events } = run([...cycle, ...cycle, ...cycle, ...cycle], o);
    // 1st alert fires and resolves; 2nd fires (a refire) and then holds: quiet spells of 40 min are
    // shorter than the 6 h window, so it never resolves and the 3rd and 4th cycles add nothing.
    expect(events).toEqual(['10:fire:warning', '41:resolve:warning', '61:fire:warning:refire']);
  });

  it('with clearFor 0 resolves on the first clear observation', () => {
    const o = { ...opts, for: 0, minSamples: 1, clearFor: 0 };
    const { events } = run([[1, 1], [1, 1], [0, 0]], o);
    expect(events).toEqual(['0:fire:warning', '2:resolve:warning']);
  });
});
