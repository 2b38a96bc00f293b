import { describe, expect, it } from 'vitest';
import type { Finding, Reading } from '../../../core/index.ts';
import { RuleEngine } from '../../engine/engine.ts';
import { backtest } from '../../backtest/backtest.ts';
import { defaultRulesetText, parseRuleset } from '../../rulesets/compile.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 3, 1);
const EVERY = 10 * 60_000;

/** A small PRNG so the fleet is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

/**
 * Ten fans of one model on one site over 30 days, every 10 minutes: each its own level (1.45-1.65
 * mm/s), all under the same daily load cycle (±10 %), each with its own noise. fan-07's vibration
 * rises slowly from day 5, by 60 % at day 30: slow enough for its own baseline to follow.
 */
function fleet(): Reading[] {
  const r = rng(2026);
  const out: Reading[] = [];
  const fans = Array.from({ length: 10 }, (_, i) => ({ id: `fan-${String(i + 1).padStart(2, '0')}`, base: 1.45 + 0.2 * r(), temp: 48 + 4 * r() }));
  for (let t = T0; t < T0 + 30 * DAY; t += EVERY) {
    const load = 1 + 0.1 * Math.sin((2 * Math.PI * (t - T0)) / DAY);
    for (const f of fans) {
      const drift = f.id === 'fan-07' ? 1 + 0.6 * Math.max(0, (t - T0 - 5 * DAY) / (25 * DAY)) : 1;
      out.push({ deviceId: f.id, metric: 'vibration_rms', value: f.base * load * drift * (1 + 0.05 * (r() - 0.5)), ts: t });
      out.push({ deviceId: f.id, metric: 'bearing_temp', value: f.temp + 3 * (load - 1) * 10 + (r() - 0.5), ts: t });
    }
  }
  return out;
}

describe('fleet-outlier on ten simulated fans of one model over 30 days', () => {
  it('flags the drifting fan only, with its nine siblings as evidence, through the backtest the console runs', () => {
    // The shipped ruleset with the fans' model and the fleet rule at its defaults.
    const text = defaultRulesetText()
      .replace(/^devices: \[\]$/m, 'devices:\n  - { id: "fan-*", model: AF-710 }')
      .replace(/^rules:\n/m, 'rules:\n  - { id: fan-vs-fleet, kind: fleet-outlier, metric: vibration_rms, fault: vibration }\n  - { id: temp-vs-fleet, kind: fleet-outlier, metric: bearing_temp, fault: overheating }\n');
    const ruleset = parseRuleset(text);
    const { findings } = backtest(ruleset, fleet(), { site: 'plant-a' });
    const fleetFindings = findings.filter((f) => f.ruleId === 'fan-vs-fleet' || f.ruleId === 'temp-vs-fleet');
    expect(new Set(fleetFindings.map((f) => `${f.deviceId} ${f.ruleId}`))).toEqual(new Set(['fan-07 fan-vs-fleet']));
    const fire = fleetFindings.find((f) => f.event === 'fire')!;
    // Found while the drift is still under way, days before its end.
    expect(fire.at).toBeGreaterThan(T0 + 5 * DAY);
    expect(fire.at).toBeLessThan(T0 + 28 * DAY);
    expect(fire.evidence).toMatchObject({ kind: 'fleet-outlier', model: 'AF-710', siblingCount: 9 });
    const siblings = (fire.evidence.siblings as { deviceId: string }[]).map((s) => s.deviceId);
    expect(siblings).toEqual(['fan-01', 'fan-02', 'fan-03', 'fan-04', 'fan-05', 'fan-06', 'fan-08', 'fan-09', 'fan-10']);
    expect(fire.evidence.score as number).toBeGreaterThanOrEqual(4);
    // What its own learned baseline made of the same slow drift, for the record (printed, not asserted:
    // the fleet rule is what this test is about).
    const own = findings.filter((f) => f.deviceId === 'fan-07' && f.metric === 'vibration_rms' && f.ruleId !== 'fan-vs-fleet' && f.event === 'fire');
    console.log(`fan-07: fleet-outlier fired at day ${((fire.at - T0) / DAY).toFixed(1)}; per-device vibration rules fired: ${own.map((f) => `${f.ruleId}@${((f.at - T0) / DAY).toFixed(1)}d`).join(', ') || 'none'}`);
  });
});

describe('fleet-outlier when shards move', () => {
  it('stops counting devices the engine forgot (another server holds them now) as siblings', () => {
    const ruleset = parseRuleset(
      'version: 1\nname: t\ndefaults: { for: 0, minSamples: 1, clearFor: 0 }\ndevices:\n  - { id: "*", model: AF-710 }\nrules:\n  - { id: f, kind: fleet-outlier, metric: vibration_rms, fault: vibration, params: { smoothing: 1h, warmUp: 1h, staleAfter: 1d } }\n',
    );
    const found: Finding[] = [];
    const engine = new RuleEngine(ruleset, { lateTolerance: 60_000, emit: (f) => found.push(f) });
    const feed = (site: string, id: string, value: number, t: number) => engine.ingest(site, [{ deviceId: id, metric: 'vibration_rms', value, ts: t }], t);
    // Five siblings on site-b, one device on site-a; two hours of history each.
    for (let t = T0; t < T0 + 2 * 3_600_000; t += EVERY) {
      for (let i = 1; i <= 5; i++) feed('site-b', `sib-${i}`, 1 + i / 100, t);
      feed('site-a', 'dev-1', 1, t);
    }
    expect(engine.forget((site) => site === 'site-b')).toBe(5);
    // Far above where the siblings were: with them still on the board this would fire at once.
    feed('site-a', 'dev-1', 5, T0 + 2 * 3_600_000 + EVERY);
    feed('site-a', 'dev-1', 5, T0 + 3 * 3_600_000);
    expect(found).toEqual([]);
  });
});
