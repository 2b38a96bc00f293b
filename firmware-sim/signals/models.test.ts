import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../../core/index.ts';
import { ScenarioSchema, resolveScenario, resolveTime } from '../scenarios/schema.ts';
import { type DeviceModel, sample, truth } from './models.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const healthy: DeviceModel = { id: 'p', seed: 7, vibration: 1.4, temperature: 48, ambient: 22, sensorFaults: [] };
const wearing: DeviceModel = { ...healthy, fault: { kind: 'bearing_wear', onset: T0, failsAt: T0 + 20 * DAY } };

describe('signal models', () => {
  it('are deterministic: the same seed and time give the same sample, whatever came before', () => {
    expect(sample(healthy, T0 + 12345)).toEqual(sample({ ...healthy }, T0 + 12345));
    expect(sample(healthy, T0 + 1000)).not.toEqual(sample({ ...healthy, seed: 8 }, T0 + 1000));
  });

  it('keep a healthy machine near its baseline (ISO 10816 zone A/B) over a month', () => {
    const vib = Array.from({ length: 30 * 24 }, (_, h) => truth(healthy, T0 + h * 3_600_000).vibration_rms);
    expect(Math.max(...vib)).toBeLessThan(2.3);
    expect(Math.min(...vib)).toBeGreaterThan(0.8);
  });

  it('raise kurtosis before RMS velocity as a bearing wears, and exceed 7.1 mm/s before failure', () => {
    const at = (f: number) => truth(wearing, T0 + f * 20 * DAY);
    expect(at(0.4).vibration_kurtosis).toBeGreaterThan(5);
    expect(at(0.4).vibration_rms).toBeLessThan(2.5);
    expect(at(0.98).vibration_rms).toBeGreaterThan(7.1);
    expect(at(0.98).bearing_temp).toBeGreaterThan(at(0.1).bearing_temp + 10);
  });

  it('stop reporting once the machine has failed', () => {
    expect(sample(wearing, T0 + 20 * DAY + 1)).toEqual({});
  });

  it('apply sensor faults: stuck, dropout and spikes', () => {
    const m: DeviceModel = {
      ...healthy,
      sensorFaults: [
        { kind: 'stuck', metric: 'bearing_temp', from: T0, to: T0 + DAY, probability: 0 },
        { kind: 'dropout', metric: 'vibration_kurtosis', from: T0, to: T0 + DAY, probability: 0 },
        { kind: 'spikes', metric: 'vibration_rms', from: T0, to: T0 + DAY, probability: 0.5 },
      ],
    };
    const samples = Array.from({ length: 200 }, (_, i) => sample(m, T0 + i * 60_000));
    expect(new Set(samples.map((s) => s.bearing_temp)).size).toBe(1);
    expect(samples.every((s) => s.vibration_kurtosis === undefined)).toBe(true);
    const spikes = samples.filter((s) => s.vibration_rms! > 6).length;
    expect(spikes).toBeGreaterThan(50);
    expect(spikes).toBeLessThan(150);
  });
});

describe('scenarios', () => {
  it.each([
    ['-7d', T0 - 7 * DAY],
    ['+2h', T0 + 7_200_000],
    ['0', T0],
    [0, T0],
    ['2026-02-01T00:00:00Z', Date.UTC(2026, 1, 1)],
    ['soon', undefined],
  ])('resolves the time %j', (v, t) => {
    expect(resolveTime(v, T0)).toBe(t);
  });

  it.each(['demo.yaml', 'wear-month.yaml'])('ships %s, which parses and states its ground truth', (file) => {
    const text = readFileSync(new URL(`../scenarios/${file}`, import.meta.url), 'utf8');
    const s = parseConfigText(ScenarioSchema, text, {}, file);
    const r = resolveScenario(s, T0);
    expect(r.truth.length).toBeGreaterThan(0);
    for (const t of r.truth) expect(t.failsAt).toBeGreaterThan(t.onset);
  });
});
