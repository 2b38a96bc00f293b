import { describe, expect, it } from 'vitest';
import type { Finding, Reading } from '../../core/index.ts';
import { parseRuleset } from '../rulesets/compile.ts';
import { RuleEngine } from './engine.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1);

const ruleset = parseRuleset(`
version: 1
name: t
defaults: { for: 0, minSamples: 1, clearFor: 0 }
devices:
  - { id: "rig-*", machine: rig }
operatingState:
  running:
    - { metric: speed_rpm, above: 60 }
    - { metric: vibration_rms, ratio: 0.2 }
  gap: 2h
  warmUp: 30m
rules:
  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80 } }
  - { id: vib, kind: threshold, metric: vibration_rms, fault: vibration, params: { warning: 5 } }
  - { id: wear, kind: threshold, metric: vibration_kurtosis, fault: bearing_wear, params: { warning: 6 } }
  - { id: low, kind: threshold, metric: vibration_crest, fault: bearing_wear, params: { warning: 1 } }
  - { id: silent, kind: silence, fault: device_offline, params: { after: 30m } }
`);

function engineWith(rs = ruleset) {
  const findings: Finding[] = [];
  const engine = new RuleEngine(rs, { lateTolerance: 5 * MIN, emit: (f) => findings.push(f) });
  return { engine, findings };
}
const r = (deviceId: string, metric: Reading['metric'], value: number, ts: number): Reading => ({ deviceId, metric, value, ts });

describe('operating state', () => {
  it('judges nothing while the vibration has collapsed to a stop, nor during the warm-up after the start', () => {
    const { engine, findings } = engineWith();
    let t = T0;
    for (; t < T0 + HOUR; t += MIN) engine.ingest('s', [r('m-1', 'vibration_rms', 2, t)], t);
    // Stopped: the vibration reads its noise floor, and a hot reading (a cooling probe) is not judged.
    for (; t < T0 + 2 * HOUR; t += MIN) engine.ingest('s', [r('m-1', 'vibration_rms', 0.03, t), r('m-1', 'bearing_temp', 90, t)], t);
    expect(findings).toEqual([]);
    // Started again: 30 minutes of warm-up, then the same reading is judged.
    const start = t;
    for (; t < start + 40 * MIN; t += MIN) engine.ingest('s', [r('m-1', 'vibration_rms', 2, t), r('m-1', 'bearing_temp', 90, t)], t);
    expect(findings.map((f) => [f.ruleId, f.at])).toEqual([['hot', start + 30 * MIN]]);
    expect(engine.stats.paused).toBeGreaterThan(60);
  });

  it('prefers speed where the device reports it, and treats a gap in the data as a stop followed by a warm-up', () => {
    const { engine, findings } = engineWith();
    engine.ingest('s', [r('m-2', 'speed_rpm', 1480, T0), r('m-2', 'vibration_rms', 0.01, T0), r('m-2', 'bearing_temp', 85, T0)], T0);
    expect(findings.map((f) => f.ruleId)).toEqual(['hot']); // low vibration is no stop while the shaft turns
    engine.ingest('s', [r('m-2', 'speed_rpm', 0, T0 + MIN), r('m-2', 'bearing_temp', 20, T0 + MIN)], T0 + MIN);
    expect(findings.map((f) => f.event)).toEqual(['fire']); // stopped: no recovery
    const after = T0 + 3 * HOUR;
    engine.ingest('s', [r('m-2', 'speed_rpm', 1480, after), r('m-2', 'bearing_temp', 20, after)], after);
    engine.ingest('s', [r('m-2', 'bearing_temp', 20, after + 31 * MIN)], after + 31 * MIN);
    expect(findings.map((f) => [f.event, f.at])).toEqual([['fire', T0], ['resolve', after + 31 * MIN]]);
  });

  it('does not call a stopped machine, or a record that pauses as a whole, silent', () => {
    const { engine, findings } = engineWith();
    engine.ingest('s', [r('m-3', 'vibration_rms', 2, T0), r('m-4', 'vibration_rms', 2, T0)], T0);
    engine.ingest('s', [r('m-3', 'vibration_rms', 0.01, T0 + MIN), r('m-4', 'vibration_rms', 2, T0 + MIN)], T0 + MIN);
    // m-3 stopped and went quiet; m-4 kept running and went quiet: only m-4 is silent.
    engine.tick(T0 + 2 * MIN);
    engine.tick(T0 + 40 * MIN);
    expect(findings.map((f) => [f.deviceId, f.ruleId])).toEqual([['m-4', 'silent']]);
    // Nothing at all for a day, then both report again: no device was silent on its own.
    const { engine: e2, findings: f2 } = engineWith();
    e2.ingest('s', [r('m-5', 'vibration_rms', 2, T0), r('m-6', 'vibration_rms', 2, T0)], T0);
    e2.tick(T0 + MIN);
    const later = T0 + 24 * HOUR;
    e2.ingest('s', [r('m-5', 'vibration_rms', 2, later)], later);
    e2.ingest('s', [r('m-6', 'vibration_rms', 2, later + 2 * MIN)], later + 2 * MIN);
    expect(f2).toEqual([]);
  });
});

describe('maintenance holds', () => {
  it('holds back findings and learning for the devices, sites and classes a window covers, while it lasts', () => {
    const { engine, findings } = engineWith();
    engine.setHolds([{ id: 'w1', start: T0 + 10 * MIN, end: T0 + 20 * MIN, devices: ['pump-*'] }, { id: 'w2', start: T0, end: T0 + HOUR, sites: ['other'] }]);
    engine.ingest('s', [r('pump-1', 'bearing_temp', 85, T0 + 11 * MIN), r('fan-1', 'bearing_temp', 85, T0 + 11 * MIN)], T0 + 11 * MIN);
    engine.ingest('other', [r('x-1', 'bearing_temp', 85, T0 + 12 * MIN)], T0 + 12 * MIN);
    expect(findings.map((f) => f.deviceId)).toEqual(['fan-1']);
    engine.ingest('s', [r('pump-1', 'bearing_temp', 85, T0 + 20 * MIN)], T0 + 20 * MIN);
    expect(findings.map((f) => f.deviceId)).toEqual(['fan-1', 'pump-1']);
    engine.setHolds([]);
    engine.ingest('other', [r('x-1', 'bearing_temp', 85, T0 + 13 * MIN)], T0 + 13 * MIN);
    expect(findings.map((f) => f.deviceId)).toEqual(['fan-1', 'pump-1', 'x-1']);
  });
});

describe('machines: which sensor it is', () => {
  it('names the device that fired first as the source and files what its neighbours feel as transmitted to its ticket', () => {
    const { engine, findings } = engineWith();
    engine.ingest('s', [r('rig-1', 'vibration_kurtosis', 8, T0)], T0);
    engine.ingest('s', [r('rig-2', 'vibration_rms', 6, T0 + MIN), r('rig-3', 'vibration_kurtosis', 7, T0 + MIN), r('m-9', 'vibration_rms', 6, T0 + MIN)], T0 + MIN);
    engine.ingest('s', [r('rig-2', 'bearing_temp', 90, T0 + 2 * MIN)], T0 + 2 * MIN);
    const by = (d: string) => findings.filter((f) => f.deviceId === d);
    expect(by('rig-1')[0]).toMatchObject({ dedupeKey: 'rig-1:bearing_wear' });
    expect(by('rig-1')[0]!.evidence.transmitted).toBeUndefined();
    expect(by('rig-2')[0]).toMatchObject({ ruleId: 'vib', dedupeKey: 'rig-1:bearing_wear', evidence: expect.objectContaining({ transmitted: true, source: 'rig-1', machine: 'rig' }) });
    expect(by('rig-3')[0]).toMatchObject({ dedupeKey: 'rig-1:bearing_wear', evidence: expect.objectContaining({ source: 'rig-1' }) });
    // Not on the machine, or not vibration: a problem of its own.
    expect(by('m-9')[0]).toMatchObject({ dedupeKey: 'm-9:vibration' });
    expect(by('rig-2')[1]).toMatchObject({ ruleId: 'hot', dedupeKey: 'rig-2:overheating' });
    // Resolving keeps the attribution it fired with.
    engine.ingest('s', [r('rig-2', 'vibration_rms', 2, T0 + 3 * MIN)], T0 + 3 * MIN);
    expect(findings.at(-1)).toMatchObject({ deviceId: 'rig-2', event: 'resolve', dedupeKey: 'rig-1:bearing_wear' });
    // Once the source has cleared, a neighbour that fires is a source itself.
    engine.ingest('s', [r('rig-1', 'vibration_kurtosis', 3, T0 + 4 * MIN), r('rig-3', 'vibration_kurtosis', 3, T0 + 4 * MIN)], T0 + 4 * MIN);
    engine.ingest('s', [r('rig-2', 'vibration_rms', 7, T0 + 5 * MIN)], T0 + 5 * MIN);
    expect(findings.at(-1)).toMatchObject({ deviceId: 'rig-2', event: 'fire', dedupeKey: 'rig-2:vibration' });
    expect(findings.at(-1)!.evidence.transmitted).toBeUndefined();
  });
});
