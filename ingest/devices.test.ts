import { describe, expect, it } from 'vitest';
import { DeviceDirectory, deviceMatcher } from './devices.ts';

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

describe('DeviceDirectory.list and page', () => {
  it('keeps the sorted fleet until a device is added, and pages through what a filter keeps', () => {
    const dir = new DeviceDirectory();
    dir.update('b', 'gw', [{ deviceId: 'pump-2', metric: 'bearing_temp', value: 1, ts: 1 }], 10);
    dir.update('a', 'gw', [{ deviceId: 'fan-9', metric: 'bearing_temp', value: 1, ts: 1 }], 10);
    const first = dir.list();
    expect(first.map((d) => `${d.site}/${d.deviceId}`)).toEqual(['a/fan-9', 'b/pump-2']);
    // New values of known devices do not re-sort; a new device does.
    dir.update('a', 'gw', [{ deviceId: 'fan-9', metric: 'bearing_temp', value: 5, ts: 2 }], 11);
    expect(dir.list()).toBe(first);
    expect(dir.list()[0]!.values.bearing_temp?.value).toBe(5);
    dir.states('a', 'gw', [{ id: 'fan-1', state: 'online', since: 1 }], 12);
    expect(dir.list().map((d) => d.deviceId)).toEqual(['fan-1', 'fan-9', 'pump-2']);
    expect(dir.page(() => true, 2, 1)).toEqual({ total: 3, devices: [dir.get('a', 'fan-9'), dir.get('b', 'pump-2')] });
    expect(dir.page(deviceMatcher({ q: 'FAN' }), 1, 0)).toEqual({ total: 2, devices: [dir.get('a', 'fan-1')] });
    expect(dir.page(deviceMatcher({ site: 'b' }), 10, 0).devices.map((d) => d.deviceId)).toEqual(['pump-2']);
    expect(dir.page(deviceMatcher({ q: 'B' }), 10, 0).devices.map((d) => d.deviceId)).toEqual(['pump-2']);
    expect(dir.page(deviceMatcher({ q: 'nothing' }), 10, 0)).toEqual({ total: 0, devices: [] });
  });
});
