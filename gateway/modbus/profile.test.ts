import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_IDS, parseConfig } from '../../core/index.ts';
import { BUILTIN_PROFILES, ProfileSchema, loadProfiles, mapRegisters } from './profile.ts';
import { configProblems } from '../../test/helpers/config.ts';

const problems = (raw: unknown): string[] => configProblems(() => parseConfig(ProfileSchema, raw, {}));

describe('profiles', () => {
  it('ships profiles that load and name only catalog metrics', () => {
    const profiles = loadProfiles([]);
    expect(profiles.size).toBe(readdirSync(BUILTIN_PROFILES).filter((f) => f.endsWith('.yaml')).length);
    for (const p of profiles.values()) for (const r of p.registers) if (r.metric) expect(METRIC_IDS).toContain(r.metric);
  });

  it('turns 1-based datasheet numbers into protocol addresses', () => {
    const p = loadProfiles([]).get('temperature-transmitter')!;
    expect(mapRegisters(p).map((r) => r.address)).toEqual([0, 1]);
  });

  it.each([
    [{ metric: 'vibration_rms', table: 'coil', address: 0, type: 'float32' }, /type must be bool/],
    [{ metric: 'vibration_rms', table: 'input', address: 0, type: 'float32', order: 'AB' }, /ABCD, BADC, CDAB, DCBA/],
    [{ metric: 'vibration_rms', table: 'input', address: 0, type: 'int16', order: 'CDAB' }, /AB, BA/],
    [{ metric: 'vibration_rms', table: 'input', address: 0, type: 'float64', order: 'CDAB' }, /ABCDEFGH/],
    [{ metric: 'bearing_temp', table: 'input', address: 0, unit: '°F' }, /°C; convert with scale and offset/],
    [{ table: 'input', address: 0 }, /name the catalog metric/],
    [{ name: 'serial', table: 'holding', address: 0, type: 'string' }, /length in registers/],
    [{ metric: 'speed_rpm', table: 'holding', address: 0, type: 'bool' }, /needs its bit/],
    [{ metric: 'wobble', table: 'holding', address: 0 }, /metric/],
    [{ metric: 'speed_rpm', table: 'holding', address: 70000 }, /address/],
  ])('refuses %j', (register, problem) => {
    expect(problems({ name: 'p', registers: [register] }).join('; ')).toMatch(problem);
  });

  it('refuses a metric mapped twice and addresses below a 1-based start', () => {
    const p = problems({ name: 'p', addressBase: 1, registers: [{ metric: 'speed_rpm', table: 'holding', address: 0 }, { metric: 'speed_rpm', table: 'holding', address: 5 }] });
    expect(p.join('; ')).toMatch(/below the first address/);
    expect(p.join('; ')).toMatch(/mapped twice/);
  });

  it('names a missing profile file in its error', () => {
    expect(() => loadProfiles(['/nonexistent/profiles'])).toThrow(/nonexistent\/profiles: profile file or folder not found/);
  });
});
