import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Finding, type MetricId, type Reading, parseConfigText } from '../../core/index.ts';
import { type GroundTruth, ScenarioSchema, resolveScenario, transmitterValues } from '../../firmware-sim/index.ts';
import { type Ruleset, backtest, defaultRuleset } from '../../rules/index.ts';

// The firmware-sim scenarios on accelerated time, straight into the rule engine with the default
// ruleset: the models are pure functions of time, so a month of a fleet plays in seconds and every
// failure time is known.
const ORIGIN = Date.UTC(2026, 10, 1);
const SENSOR_FAULTS = new Set(['sensor_fault', 'device_offline']);

function play(name: string, ruleset: Ruleset = defaultRuleset()): { findings: Finding[]; truth: GroundTruth[]; devices: string[] } {
  const file = fileURLToPath(new URL(`../../firmware-sim/scenarios/${name}.yaml`, import.meta.url));
  const s = parseConfigText(ScenarioSchema, readFileSync(file, 'utf8'), {});
  const { models, truth, start, end } = resolveScenario(s, ORIGIN);
  function* readings(): Generator<Reading> {
    for (let t = start; t <= (end ?? ORIGIN); t += s.sampleEvery) {
      for (const m of models) for (const [metric, value] of Object.entries(transmitterValues(m, t))) yield { deviceId: m.id, metric: metric as MetricId, value: value!, ts: t };
    }
  }
  const { findings } = backtest(ruleset, readings(), { site: s.site });
  return { findings, truth, devices: models.map((m) => m.id) };
}

/** The first warning about the machine itself (not its sensors) and the share of the degradation left. */
function lead(findings: Finding[], t: GroundTruth) {
  const first = findings.find((f) => f.deviceId === t.deviceId && f.event !== 'resolve' && !SENSOR_FAULTS.has(f.fault));
  return { first, share: first ? (t.failsAt - first.at) / (t.failsAt - t.onset) : -1 };
}

describe('default ruleset on simulated fleets (accelerated time)', () => {
  it.each(['wear-fleet', 'wear-month'])('%s: every wearing machine is warned about with at least a quarter of its degradation left', (name) => {
    const { findings, truth } = play(name);
    expect(truth.length).toBeGreaterThan(0);
    const leads = truth.map((t) => ({ device: t.deviceId, fault: t.fault, ...lead(findings, t) }));
    for (const l of leads) {
      expect(l.first, `${l.device} (${l.fault}) never warned`).toBeDefined();
      expect(l.share, `${l.device} (${l.fault}) warned with ${(l.share * 100).toFixed(0)}% of its degradation left`).toBeGreaterThanOrEqual(0.25);
      expect(l.first!.at).toBeLessThan(truth.find((t) => t.deviceId === l.device)!.failsAt);
    }
    // Nothing about the machines before their wear began.
    for (const t of truth) {
      const early = findings.filter((f) => f.deviceId === t.deviceId && f.at < t.onset && !SENSOR_FAULTS.has(f.fault));
      expect(early, `${t.deviceId} before onset`).toEqual([]);
    }
  });

  it('a healthy fleet of 50 machines over 30 days raises no finding at all', () => {
    const { findings, devices } = play('healthy-fleet');
    expect(devices).toHaveLength(50);
    expect(findings).toEqual([]);
  });

  it('sensor faults yield flatline and silence findings, never wear findings', () => {
    const { findings } = play('sensor-faults');
    expect(findings.filter((f) => !SENSOR_FAULTS.has(f.fault))).toEqual([]);
    const fired = (device: string) => findings.filter((f) => f.deviceId === device && f.event === 'fire').map((f) => `${f.ruleId}:${f.metric}`);
    expect(fired('stuck-temp')).toEqual(['stuck-sensor:bearing_temp']);
    expect(fired('stuck-vib')).toEqual(['stuck-sensor:vibration_rms']);
    expect(fired('dropout')).toEqual(['device-silent:*']);
    expect(fired('spiky')).toEqual([]);
    // Each clears when the sensor recovers.
    for (const d of ['stuck-temp', 'stuck-vib', 'dropout']) expect(findings.filter((f) => f.deviceId === d && f.event === 'resolve')).toHaveLength(1);
  });

  it('stops, restarts and a weekend without data raise nothing, on a healthy and on a wearing machine; the wear is still warned on time', () => {
    const { findings, truth } = play('stops');
    expect(findings.filter((f) => f.deviceId !== 'wearing')).toEqual([]);
    const [wear] = truth;
    const l = lead(findings, wear!);
    expect(l.share, `wearing warned with ${(l.share * 100).toFixed(0)}% of its degradation left`).toBeGreaterThanOrEqual(0.25);
    expect(findings.filter((f) => f.deviceId === 'wearing' && (f.at < wear!.onset || SENSOR_FAULTS.has(f.fault)))).toEqual([]);
    // The same data without telling running from stopped: the stops look like faults, a recovery and a stuck sensor.
    const blind = play('stops', { ...defaultRuleset(), operatingState: undefined });
    expect(new Set(blind.findings.filter((f) => f.deviceId === 'stop-start' && f.event === 'fire').map((f) => f.fault))).toEqual(new Set(['bearing_wear', 'vibration', 'sensor_fault', 'device_offline']));
  });
});
