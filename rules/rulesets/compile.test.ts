import { describe, expect, it } from 'vitest';
import { parseRuleset, planDevice } from './compile.ts';

const ruleset = parseRuleset(`
version: 1
name: t
assetClasses:
  pump-medium-rigid: { vibrationZones: "iso20816-3/group2-rigid" }
devices:
  - { id: "pump-*", class: pump-medium-rigid }
  - { id: "pump-9", overrides: { hot: { params: { warning: 70 } } } }
rules:
  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80, critical: 95 } }
  - { id: zone, kind: threshold, metric: vibration_rms, fault: vibration, params: { zones: true } }
  - { id: north-only, kind: threshold, metric: motor_temp, fault: overheating, match: { sites: [north] }, params: { warning: 90 } }
`);

const limitOf = (deviceId: string, site: string, ruleId: string) => planDevice(ruleset, deviceId, site).rules.find((r) => r.ruleId === ruleId)?.prepared.limits.warning;

describe('planDevice', () => {
  it('compiles devices alike once and shares the result, and still gives each its own class, overrides, site rules and skips', () => {
    const a = planDevice(ruleset, 'fan-1', 'north');
    const b = planDevice(ruleset, 'fan-2', 'north');
    expect(b.deviceId).toBe('fan-2');
    expect(b.rules).toBe(a.rules);
    expect(b.skipped).toBe(a.skipped);
    expect(a.skipped.map((s) => s.ruleId)).toEqual(['zone']);
    // Another site, another class, another override: compiled on their own.
    expect(planDevice(ruleset, 'fan-3', 'south').rules.map((r) => r.ruleId)).toEqual(['hot']);
    const pump = planDevice(ruleset, 'pump-1', 'north');
    expect(pump.assetClass).toBe('pump-medium-rigid');
    expect(pump.rules.map((r) => r.ruleId)).toEqual(['hot', 'zone', 'north-only']);
    expect(planDevice(ruleset, 'pump-2', 'north').rules).toBe(pump.rules);
    expect(limitOf('pump-9', 'north', 'hot')).toBe(70);
    expect(limitOf('pump-1', 'north', 'hot')).toBe(80);
    expect(planDevice(ruleset, 'pump-9', 'north').rules).not.toBe(pump.rules);
  });
});
