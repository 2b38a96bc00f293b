import { describe, expect, it } from 'vitest';
import { DeviceDirectory } from './devices.ts';

describe('DeviceDirectory.find', () => {
  it('finds a device by id among many sites without listing the fleet, and prefers the first site by name as list() does', () => {
    const dir = new DeviceDirectory();
    for (let s = 0; s < 50; s++) dir.update(`site-${String(s).padStart(2, '0')}`, 'gw', [{ deviceId: `pump-${s}`, metric: 'bearing_temp', value: s, ts: 1 }], 10);
    expect(dir.find('pump-7')).toMatchObject({ site: 'site-07', deviceId: 'pump-7', values: { bearing_temp: { value: 7 } } });
    expect(dir.find('nobody')).toBeUndefined();
    // The same id reported at two sites: the same answer as the sorted list gives.
    dir.update('site-zz', 'gw', [{ deviceId: 'twin', metric: 'bearing_temp', value: 1, ts: 1 }], 10);
    dir.update('site-aa', 'gw', [{ deviceId: 'twin', metric: 'bearing_temp', value: 2, ts: 1 }], 10);
    expect(dir.find('twin')?.site).toBe('site-aa');
    expect(dir.find('twin')).toBe(dir.list().find((d) => d.deviceId === 'twin'));
  });
});
