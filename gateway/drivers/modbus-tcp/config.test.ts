import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/index.ts';
import { DriverConfigSchema } from '../registry.ts';
import { configProblems } from '../../../test/helpers/config.ts';

const problems = (raw: unknown): string[] => configProblems(() => parseConfig(DriverConfigSchema, raw, {}));

describe('modbus-tcp config', () => {
  it('fills defaults: port 502, unit 1, poll every second', () => {
    const c = parseConfig(DriverConfigSchema, { kind: 'modbus-tcp', devices: [{ id: 'p', host: '10.0.0.1', profile: 'vibration-transmitter' }] }, {});
    expect(c).toMatchObject({ id: 'modbus-tcp', defaults: { pollInterval: 1000, timeout: 1000, retries: 1, offlineAfter: 3 }, devices: [{ port: 502, unitId: 1 }] });
  });

  it('reports bad devices with their paths', () => {
    expect(problems({ kind: 'modbus-tcp', devices: [{ id: 'p', host: '', unitId: 300, profile: 'x', pollInterval: 'often' }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^devices.0.host/), expect.stringMatching(/^devices.0.unitId/), expect.stringMatching(/^devices.0.pollInterval: not a duration/)]),
    );
    expect(problems({ kind: 'modbus-tcp', devices: [] })[0]).toMatch(/^devices/);
  });
});
