import { describe, expect, it } from 'vitest';
import type { Finding, Reading } from '../../core/index.ts';
import { defaultRuleset, defaultRulesetText, parseRuleset } from '../rulesets/compile.ts';
import { RuleEngine, type StateRow } from './engine.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

const ruleset = parseRuleset(`
version: 1
name: t
defaults: { for: 0, minSamples: 1, clearFor: 0 }
rules:
  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80, critical: 95 } }
  - { id: ratio, kind: baseline, metric: vibration_rms, fault: vibration, params: { measure: ratio, warning: 2, learn: 1h, minSamples: 30 } }
  - { id: silent, kind: silence, fault: device_offline, params: { after: 30m } }
`);

function engineWith(rs = ruleset) {
  const findings: Finding[] = [];
  const engine = new RuleEngine(rs, { lateTolerance: 5 * MIN, emit: (f) => findings.push(f) });
  return { engine, findings };
}
const r = (deviceId: string, metric: Reading['metric'], value: number, ts: number): Reading => ({ deviceId, metric, value, ts });

describe('RuleEngine', () => {
  it('emits findings with the dedupe key, fault, site and evidence', () => {
    const { engine, findings } = engineWith();
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 85, T0)], T0);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'hot', deviceId: 'pump-1', metric: 'bearing_temp', severity: 'warning', event: 'fire', fault: 'overheating', at: T0, site: 'plant-a', dedupeKey: 'pump-1:overheating' });
    expect(findings[0]!.evidence).toMatchObject({ value: 85, warning: 80, critical: 95, kind: 'threshold' });
    expect(engine.alerts()).toMatchObject([{ ruleId: 'hot', phase: 'firing', severity: 'warning' }]);
  });

  it('lists the alerts of a large fleet from the devices that raised one, before and after a restart, and forgets them when they resolve', () => {
    const { engine } = engineWith();
    for (let d = 0; d < 500; d++) engine.ingest('plant-a', [r(`pump-${d}`, 'bearing_temp', d === 7 || d === 300 ? (d === 7 ? 99 : 85) : 50, T0)], T0);
    expect(engine.alerts().map((a) => [a.deviceId, a.severity])).toEqual([['pump-7', 'critical'], ['pump-300', 'warning']]);
    expect(engine.alerts({ deviceId: 'pump-300' })).toMatchObject([{ ruleId: 'hot', phase: 'firing' }]);
    expect(engine.alerts({ deviceId: 'pump-8' })).toEqual([]);
    expect(engine.alerts({ deviceId: 'nobody' })).toEqual([]);
    expect(Object.fromEntries(engine.firing())).toEqual({
      'pump-7': [{ ruleId: 'hot', fault: 'overheating', phase: 'firing', severity: 'critical' }],
      'pump-300': [{ ruleId: 'hot', fault: 'overheating', phase: 'firing', severity: 'warning' }],
    });
    const restarted = engineWith().engine;
    restarted.restore(engine.snapshot(), T0);
    expect(restarted.alerts().map((a) => a.deviceId).sort()).toEqual(['pump-300', 'pump-7']);
    engine.ingest('plant-a', [r('pump-7', 'bearing_temp', 50, T0 + MIN)], T0 + MIN);
    expect(engine.alerts().map((a) => a.deviceId)).toEqual(['pump-300']);
    expect([...engine.firing().keys()]).toEqual(['pump-300']);
  });

  it('evaluates a reading late within the tolerance at the newest time, and counts later ones without acting on them', () => {
    const { engine, findings } = engineWith();
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 50, T0 + 10 * MIN)], T0);
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 90, T0 + 8 * MIN)], T0); // 2 min late: evaluated
    expect(findings.map((f) => [f.event, f.at])).toEqual([['fire', T0 + 10 * MIN]]);
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 99, T0 - 60 * MIN)], T0); // an hour late: counted only
    expect(findings).toHaveLength(1);
    expect(engine.stats.late).toBe(1);
  });

  it('restores learned state and alerts from a snapshot, so a restart forgets nothing', () => {
    const a = engineWith();
    const feed = (e: RuleEngine, from: number, to: number, value: (i: number) => number) => {
      for (let i = from; i < to; i++) e.ingest('plant-a', [r('fan-1', 'vibration_rms', value(i), T0 + i * MIN)], T0 + i * MIN);
    };
    feed(a.engine, 0, 120, (i) => 1 + (i % 3) * 0.1);
    feed(a.engine, 120, 125, () => 3);
    expect(a.findings.map((f) => f.event)).toEqual(['fire']);
    const rows = [...a.engine.snapshot()];

    const b = engineWith();
    expect(b.engine.restore(rows)).toBe(rows.length);
    // The restored engine is already firing and its baseline is learned: back to normal resolves at once.
    feed(b.engine, 125, 126, () => 1);
    expect(b.findings.map((f) => [f.event, f.ruleId])).toEqual([['resolve', 'ratio']]);
    // A fresh engine would still be learning and say nothing.
    const c = engineWith();
    feed(c.engine, 125, 130, () => 3);
    expect(c.findings).toEqual([]);
  });

  it('snapshots an alert that never left normal as 0, and restores snapshots written before that with the alert in full', () => {
    const a = engineWith();
    for (let i = 0; i < 120; i++) a.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 1 + (i % 3) * 0.1, T0 + i * MIN), r('fan-1', 'bearing_temp', 50, T0 + i * MIN)], T0 + i * MIN);
    a.engine.ingest('plant-a', [r('fan-1', 'bearing_temp', 90, T0 + 120 * MIN)], T0 + 120 * MIN);
    const rows = [...a.engine.snapshot()];
    const temp = JSON.parse(rows.find(([k]) => k.endsWith('bearing_temp'))![1]) as { r: Record<string, [string, unknown, unknown]> };
    const vib = JSON.parse(rows.find(([k]) => k.endsWith('vibration_rms'))![1]) as { r: Record<string, [string, unknown, unknown]> };
    expect(temp.r.hot![2]).toMatchObject({ ph: 2 }); // firing: in full
    expect(vib.r.ratio![2]).toBe(0);
    // The format before: every alert as an object. Same baseline, same alert, same findings after.
    const old = rows.map(([k, json]): [string, string] => [k, json.replace(/,0\]/g, ',{"ph":0,"sev":0,"since":"\\u0000NaN","n":0,"up":"\\u0000NaN","un":0,"fires":[],"firedAt":"\\u0000NaN"}]')]);
    expect(old).not.toEqual(rows);
    for (const snapshot of [rows, old]) {
      const b = engineWith();
      b.engine.restore(snapshot);
      expect(b.engine.alerts()).toMatchObject([{ ruleId: 'hot', phase: 'firing' }]);
      expect(b.engine.baselines('fan-1')).toEqual(a.engine.baselines('fan-1'));
      b.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 3, T0 + 121 * MIN), r('fan-1', 'bearing_temp', 50, T0 + 121 * MIN)], T0 + 121 * MIN);
      expect(b.findings.map((f) => [f.event, f.ruleId])).toEqual([
        ['fire', 'ratio'],
        ['resolve', 'hot'],
      ]);
    }
  });

  it('snapshots only what changed since the last one, and those rows together restore what a full snapshot does', () => {
    const a = engineWith();
    const store = new Map<string, string>();
    const save = (rows: Iterable<StateRow>) => {
      const keys: string[] = [];
      for (const [k, v] of rows) {
        store.set(k, v);
        keys.push(k);
      }
      return keys.sort();
    };
    for (let i = 0; i < 120; i++) {
      a.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 1 + (i % 3) * 0.1, T0 + i * MIN), r('fan-2', 'vibration_rms', 1, T0 + i * MIN), r('fan-2', 'bearing_temp', 50, T0 + i * MIN)], T0 + i * MIN);
    }
    expect(save(a.engine.snapshot({ changedOnly: true }))).toHaveLength(5); // all new: 3 device-metrics, 2 device-wide rows
    expect(save(a.engine.snapshot({ changedOnly: true }))).toEqual([]); // nothing came since
    a.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 3, T0 + 120 * MIN)], T0 + 120 * MIN);
    // fan-1's metric and device-wide rows; fan-2's silence rule moved with the tick that reading's arrival made.
    expect(save(a.engine.snapshot({ changedOnly: true }))).toEqual(['fan-1\u0001*', 'fan-1\u0001vibration_rms', 'fan-2\u0001*']);
    // A site tick moves the silence rule of every device: their device-wide rows, not their metrics.
    a.engine.tick(T0 + 125 * MIN);
    expect(save(a.engine.snapshot({ changedOnly: true }))).toEqual(['fan-1\u0001*', 'fan-2\u0001*']);
    // A new ruleset lays every device out again: everything is written.
    a.engine.use(ruleset);
    expect(save(a.engine.snapshot({ changedOnly: true }))).toHaveLength(5);
    // What was written piece by piece restores the same engine as one full snapshot.
    expect([...store].sort()).toEqual([...a.engine.snapshot()].map(([k, v]) => [k, v]).sort());
    const b = engineWith();
    b.engine.restore(store);
    // (The last value itself is not state: a restored engine shows it from the next reading.)
    const alerts = (e: RuleEngine) => e.alerts().map(({ ruleId, deviceId, phase, severity, firedAt }) => ({ ruleId, deviceId, phase, severity, firedAt }));
    expect(alerts(b.engine)).toEqual(alerts(a.engine));
    expect(alerts(b.engine)).toMatchObject([{ ruleId: 'ratio', deviceId: 'fan-1', phase: 'firing' }]);
    expect(b.engine.baselines('fan-1')).toEqual(a.engine.baselines('fan-1'));
  });

  it("snapshots and forgets one site's devices (a shard handed to another server), leaving the rest alone", () => {
    const a = engineWith();
    for (let i = 0; i < 120; i++) {
      a.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 1 + (i % 3) * 0.1, T0 + i * MIN)], T0 + i * MIN);
      a.engine.ingest('plant-b', [r('fan-9', 'vibration_rms', 1, T0 + i * MIN)], T0 + i * MIN);
    }
    a.engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 3, T0 + 120 * MIN), r('fan-1', 'bearing_temp', 90, T0 + 120 * MIN)], T0 + 120 * MIN);
    const onlyA = (site: string | undefined) => site === 'plant-a';
    const rows = [...a.engine.snapshot({ only: onlyA })];
    expect(rows.map(([k, , site]) => [k, site]).sort()).toEqual([
      ['fan-1\u0001*', 'plant-a'],
      ['fan-1\u0001bearing_temp', 'plant-a'],
      ['fan-1\u0001vibration_rms', 'plant-a'],
    ]);
    const baselines = a.engine.baselines('fan-1');
    expect(a.engine.forget(onlyA)).toBe(1);
    expect(a.engine.alerts()).toEqual([]); // forgotten quietly: no resolve for alerts that live on elsewhere
    expect(a.findings.filter((f) => f.event === 'resolve')).toEqual([]);
    expect(a.engine.seen().map((d) => d.deviceId)).toEqual(['fan-9']);
    // The next owner resumes fan-1 with its baseline and both alerts.
    const b = engineWith();
    b.engine.restore(rows);
    expect(b.engine.alerts().map((x) => x.ruleId).sort()).toEqual(['hot', 'ratio']);
    expect(b.engine.baselines('fan-1')).toEqual(baselines);
  });

  it('keeps unclaimed restored state in the next snapshot', () => {
    const a = engineWith();
    a.engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 85, T0)], T0);
    const rows = [...a.engine.snapshot()];
    const b = engineWith();
    b.engine.restore(rows);
    expect([...b.engine.snapshot()].map(([k]) => k).sort()).toEqual(rows.map(([k]) => k).sort());
  });

  it('switches rulesets live: learned state carries over, alerts of removed rules resolve', () => {
    const { engine, findings } = engineWith();
    for (let i = 0; i < 120; i++) engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 1 + (i % 2) * 0.01, T0 + i * MIN)], T0 + i * MIN);
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 85, T0 + 120 * MIN)], T0 + 120 * MIN);
    expect(findings.map((f) => f.ruleId)).toEqual(['hot']);

    const next = parseRuleset(`
version: 1
name: t2
defaults: { for: 0, minSamples: 1, clearFor: 0 }
rules:
  - { id: ratio, kind: baseline, metric: vibration_rms, fault: vibration, params: { measure: ratio, warning: 1.5, learn: 1h, minSamples: 30 } }
`);
    engine.use(next);
    expect(findings.map((f) => [f.ruleId, f.event])).toEqual([['hot', 'fire'], ['hot', 'resolve']]);
    // The baseline learned under the old ruleset applies the new limit at once (1.6x > 1.5x).
    engine.ingest('plant-a', [r('fan-1', 'vibration_rms', 1.6, T0 + 121 * MIN)], T0 + 121 * MIN);
    expect(findings.at(-1)).toMatchObject({ ruleId: 'ratio', event: 'fire' });
  });

  it('does not take a replayed backfill for silence: live, silence is clock time since the last arrival', () => {
    const { engine, findings } = engineWith();
    const wall = T0 + 30 * 24 * 60 * MIN; // history from a month ago arrives now, a minute of it every 100 ms
    for (let i = 0; i < 180; i++) {
      const batch = [r('pump-1', 'bearing_temp', 50, T0 + i * MIN)];
      if (i < 60) batch.push(r('pump-2', 'bearing_temp', 50, T0 + i * MIN));
      engine.ingest('plant-a', batch, wall + i * 100);
      engine.tick(wall + i * 100);
    }
    expect(findings).toEqual([]);
    // Half an hour of clock time later with nothing from pump-2 (pump-1 still reporting), it is silent.
    engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 50, T0 + 180 * MIN)], wall + 31 * MIN);
    engine.tick(wall + 31 * MIN);
    expect(findings.map((f) => [f.deviceId, f.ruleId, f.event])).toEqual([['pump-2', 'silent', 'fire']]);
  });

  it('in data time (a backtest), notices a device that stops while others go on', () => {
    const { engine, findings } = engineWith();
    for (let i = 0; i < 180; i++) {
      const batch = [r('pump-1', 'bearing_temp', 50, T0 + i * MIN)];
      if (i < 60) batch.push(r('pump-2', 'bearing_temp', 50, T0 + i * MIN));
      engine.ingest('plant-a', batch, T0 + i * MIN); // the data's own time is the clock; ticks each minute
    }
    expect(findings.map((f) => [f.deviceId, f.ruleId, f.event, f.at])).toEqual([['pump-2', 'silent', 'fire', T0 + 89 * MIN]]);
  });

  it('after a restart, silence counts from the restart', () => {
    const a = engineWith();
    a.engine.ingest('plant-a', [r('pump-1', 'bearing_temp', 50, T0)], T0);
    const b = engineWith();
    b.engine.restore([...a.engine.snapshot()], T0 + 120 * MIN);
    b.engine.tick(T0 + 130 * MIN);
    expect(b.findings).toEqual([]);
    b.engine.tick(T0 + 151 * MIN);
    expect(b.findings.map((f) => f.event)).toEqual(['fire']);
  });

  it('compiles the default ruleset and applies zones only where an asset class chose them', () => {
    const rs = defaultRuleset();
    expect(rs.devices).toEqual([]);
    const withClass = parseRuleset(defaultRulesetText().replace('devices: []', 'devices:\n  - { id: "pump-*", class: pump-medium-rigid }'));
    const { engine } = engineWith(withClass);
    engine.ingest('plant-a', [r('pump-1', 'vibration_rms', 1, T0), r('fan-1', 'vibration_rms', 1, T0)], T0);
    const [pump, fan] = engine.plans();
    expect(pump!.rules.map((x) => x.ruleId)).toContain('vibration-zone');
    expect(fan!.rules.map((x) => x.ruleId)).not.toContain('vibration-zone');
    expect(fan!.skipped).toContainEqual(expect.objectContaining({ ruleId: 'vibration-zone', reason: expect.stringContaining('no vibration zones') }));
  });
});
