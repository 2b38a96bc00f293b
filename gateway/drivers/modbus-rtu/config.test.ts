import { describe, expect, it } from 'vitest';
import type { ConfigError} from '../../../core/index.ts';
import { parseConfig } from '../../../core/index.ts';
import { DriverConfigSchema } from '../registry.ts';

describe('modbus-rtu config', () => {
  it('defaults to the Modbus standard frame, 19200 8E1', () => {
    const c = parseConfig(DriverConfigSchema, { kind: 'modbus-rtu', port: '/dev/ttyUSB0', devices: [{ id: 'p', unitId: 1, profile: 'vibration-transmitter' }] }, {});
    expect(c).toMatchObject({ baudRate: 19200, parity: 'even', dataBits: 8, stopBits: 1 });
  });

  it('refuses a unit id twice on one line, broadcast (0) and reserved ids', () => {
    try {
      parseConfig(DriverConfigSchema, { kind: 'modbus-rtu', port: '/dev/x', devices: [{ id: 'a', unitId: 1, profile: 'p' }, { id: 'b', unitId: 1, profile: 'p' }, { id: 'c', unitId: 0, profile: 'p' }, { id: 'd', unitId: 250, profile: 'p' }] }, {});
      expect.unreachable();
    } catch (e) {
      const issues = (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      expect(issues).toEqual(expect.arrayContaining([expect.stringMatching(/^devices.2.unitId/), expect.stringMatching(/^devices.3.unitId/)]));
    }
    try {
      parseConfig(DriverConfigSchema, { kind: 'modbus-rtu', port: '/dev/x', devices: [{ id: 'a', unitId: 1, profile: 'p' }, { id: 'b', unitId: 1, profile: 'p' }] }, {});
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues.map((i) => i.message)).toContain('unit id 1 is used twice on this line');
    }
  });
});
