import { describe, expect, it } from 'vitest';
import { describeEvidence, describeParams } from './describe.ts';

// Regression (#12): evidence and parameters were shown as raw JSON with epoch milliseconds.
describe('evidence and parameters as sentences', () => {
  it('reads a baseline finding as a sentence with its figures', () => {
    const s = describeEvidence({ value: 7.125, baseline: 2.3, deviation: 0.4, measure: 'deviations', score: 12.06, warning: 6, critical: 15, learnedFrom: 1440 });
    expect(s).toBe('Value 7.125, learned normal 2.3, usual deviation 0.4, measured as deviations, score 12.06, warning limit 6, critical limit 15, learned from 1,440 samples.');
    expect(s).not.toMatch(/[{}"]/);
  });

  it('shows times in local time and durations with units, never epoch milliseconds', () => {
    const at = Date.UTC(2026, 10, 30, 12, 0);
    const s = describeEvidence({ value: 71, limit: 95, slopePerDay: 2.5, predictedCrossing: at, window: 2 * 86_400_000, lead: { warning: 7 * 86_400_000, critical: 86_400_000 } });
    expect(s).toContain(`predicted to cross the limit ${new Date(at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })}`);
    expect(s).toContain('window 2 d');
    expect(s).toContain('warns 7 d and turns critical 1 d before the crossing');
    expect(s).not.toContain(String(at));
  });

  it('describes silence, zones, compound conditions and parameters', () => {
    expect(describeEvidence({ lastHeard: null, after: 1_800_000 })).toBe('After 30 min.');
    expect(describeEvidence({ value: 5, zones: { standard: 'ISO 10816-3 group 2 rigid', ab: 1.4, bc: 2.8, cd: 4.5 } })).toContain('zones of ISO 10816-3 group 2 rigid (A/B 1.4, B/C 2.8, C/D 4.5)');
    expect(describeEvidence({ mode: 'all', conditions: [{ kind: 'threshold', metric: 'bearing_temp', level: 1, value: 80, warning: 75 }] })).toBe('When all, conditions: bearing_temp (value 80, warning limit 75).');
    expect(describeParams({})).toBe('Defaults.');
    expect(describeParams({ zone: true, window: '2d', lead: { warning: '14d', critical: '2d' } })).toBe('Limit from the vibration zones of the asset class, window 2d, warns 14d and turns critical 2d before the crossing.');
    expect(describeParams({ warning: 80, critical: 95 })).toBe('Warning limit 80, critical limit 95.');
  });
});
