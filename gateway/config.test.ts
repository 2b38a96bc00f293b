import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { GatewayConfigSchema, uplinkWarnings } from './config.ts';
import { configProblems } from '../test/helpers/config.ts';

const problems = (raw: Record<string, unknown>): string[] => configProblems(() => parseConfig(GatewayConfigSchema, raw, { P: 'x' }));

const base = {
  version: 1,
  site: 's',
  gatewayId: 'g',
  devices: [{ id: 'press-1' }],
  uplink: { url: 'mqtt://127.0.0.1:1883', password: '${P}' },
};

// Found in a trial: an unknown profile name showed up only on the next run, and a polled device
// missing from `devices:` was accepted and polled.
describe('gateway config: polled devices at the edge', () => {
  it('reports an unknown Modbus profile and an unlisted device at once, with their paths', () => {
    const p = problems({
      ...base,
      drivers: [{ kind: 'modbus-tcp', devices: [{ id: 'press-1', host: '127.0.0.1', profile: 'no-such-profile' }, { id: 'press-9', host: '127.0.0.1', profile: 'vibration-transmitter' }] }],
    });
    expect(p).toEqual([
      expect.stringMatching(/^drivers\.0\.devices\.0\.profile: no profile no-such-profile; have .*vibration-transmitter/),
      expect.stringMatching(/^drivers\.0\.devices\.1\.id: device press-9 is not listed under devices/),
    ]);
  });

  it('accepts the same config when the device is listed and the profile exists, or unknown devices are allowed', () => {
    const drivers = [{ kind: 'modbus-tcp', devices: [{ id: 'press-1', host: '127.0.0.1', profile: 'vibration-transmitter' }] }];
    expect(problems({ ...base, drivers })).toEqual([]);
    expect(problems({ ...base, devices: [], acceptUnknownDevices: true, drivers })).toEqual([]);
  });
});

describe('gateway config: keys that would have no effect', () => {
  // Regression (#12): `assetClass` was accepted and silently ignored.
  it('refuses assetClass on a device and says where asset classes go', () => {
    expect(problems({ ...base, devices: [{ id: 'press-1', assetClass: 'pump' }], drivers: [{ kind: 'modbus-tcp', devices: [{ id: 'press-1', host: '127.0.0.1', profile: 'vibration-transmitter' }] }] })).toEqual([
      expect.stringMatching(/^devices\.0\.assetClass: asset classes belong in the server ruleset/),
    ]);
  });

  // Regression (#12): `pollInterval: 1` meant 1 ms.
  it('refuses a unitless pollInterval with a hint, beside any other problem', () => {
    const p = problems({
      ...base,
      drivers: [{ kind: 'modbus-tcp', defaults: { pollInterval: 1 }, devices: [{ id: 'press-9', host: '127.0.0.1', profile: 'vibration-transmitter' }] }],
    });
    expect(p).toEqual([
      expect.stringMatching(/^drivers\.0\.defaults\.pollInterval: a duration needs a unit: 1 is a bare number; write "1s"/),
      expect.stringMatching(/^drivers\.0\.devices\.0\.id: device press-9 is not listed/),
    ]);
  });
});

describe('gateway config: the uplink to a clustered broker', () => {
  it('takes a list of broker URLs, and names the entry that is not one', () => {
    const drivers = [{ kind: 'modbus-tcp', devices: [{ id: 'press-1', host: '127.0.0.1', profile: 'vibration-transmitter' }] }];
    expect(problems({ ...base, drivers, uplink: { ...base.uplink, url: ['mqtt://10.0.0.11:1883', 'mqtt://10.0.0.12:1883'] } })).toEqual([]);
    expect(problems({ ...base, drivers, uplink: { ...base.uplink, url: ['mqtt://10.0.0.11:1883', 'http://10.0.0.12'] } })).toEqual([expect.stringMatching(/^uplink\.url\.1: an mqtt:\/\/ or mqtts:\/\/ URL/)]);
    expect(problems({ ...base, drivers, uplink: { ...base.uplink, url: [] } })).toEqual([expect.stringMatching(/^uplink\.url: at least one broker URL/)]);
  });
});

describe('uplinkWarnings', () => {
  it('warns of a "." in the site or gateway id (NATS refuses it in a topic), and of nothing else', () => {
    expect(uplinkWarnings({ site: 'plant-1', gatewayId: 'gw_1' })).toEqual([]);
    const w = uplinkWarnings({ site: 'plant.north', gatewayId: 'gw.1' });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/site "plant\.north" contains "\.".*NATS/);
    expect(w[1]).toMatch(/gatewayId "gw\.1"/);
  });
});
