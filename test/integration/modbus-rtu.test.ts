import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricId } from '../../core/index.ts';
import { type DeviceModel, ModbusRtuSimBus, SimSlave, transmitterValues } from '../../firmware-sim/index.ts';
import { loadProfiles } from '../../gateway/modbus/index.ts';
import { SerialPair, modbusDriver, pollsOf } from '../helpers/modbus.ts';
import { waitFor } from '../helpers/net.ts';

const T = Date.UTC(2026, 3, 1, 12);
const model = (seed: number): DeviceModel => ({ id: `d${seed}`, seed, vibration: 1 + seed / 10, temperature: 45, ambient: 22, sensorFaults: [] });
const profiles = loadProfiles([]);
const vib = profiles.get('vibration-transmitter')!;
const temp = profiles.get('temperature-transmitter')!;

const running: { stop(): Promise<void> }[] = [];
let line: SerialPair;
beforeEach(async () => {
  line = await new SerialPair().start();
});
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
  await line.stop();
});

const driver = (config: Record<string, unknown>) => modbusDriver(config, running);

async function bus(slaves: SimSlave[]): Promise<ModbusRtuSimBus> {
  const b = await new ModbusRtuSimBus(line.b, 19200, slaves).start();
  running.push(b);
  return b;
}


describe('modbus-rtu over a virtual serial line (socat)', () => {
  it('polls several slaves on one line and decodes their values', async () => {
    await bus([new SimSlave(1, vib, (t) => transmitterValues(model(1), t), () => T), new SimSlave(10, temp, (t) => transmitterValues(model(2), t), () => T)]);
    const { driver: d, readings } = driver({
      kind: 'modbus-rtu',
      port: line.a,
      defaults: { pollInterval: '100ms', timeout: '300ms' },
      devices: [
        { id: 'pump-3', unitId: 1, profile: 'vibration-transmitter' },
        { id: 'motor-9', unitId: 10, profile: 'temperature-transmitter' },
      ],
    });
    await d.start();
    await waitFor(() => pollsOf(readings, 'pump-3') >= 3 && pollsOf(readings, 'motor-9') >= 3, { message: 'both slaves polled' });
    const v1 = transmitterValues(model(1), T);
    const v2 = transmitterValues(model(2), T);
    for (const r of readings) {
      const want = (r.deviceId === 'pump-3' ? v1 : v2)[r.metric as MetricId]!;
      expect(r.value).toBeCloseTo(want, r.metric.endsWith('temp') ? 1 : 4);
    }
    expect([...new Set(readings.filter((r) => r.deviceId === 'motor-9').map((r) => r.metric))].sort()).toEqual(['ambient_temp', 'motor_temp']);
  });

  it('keeps the other slaves at their poll rate while one on the line is dead', async () => {
    const slaves = [1, 2, 3].map((u) => new SimSlave(u, vib, (t) => transmitterValues(model(u), t), () => T));
    slaves[1]!.faults.silent = true;
    await bus(slaves);
    const { driver: d, readings } = driver({
      kind: 'modbus-rtu',
      port: line.a,
      defaults: { pollInterval: '200ms', timeout: '150ms', offlineAfter: 2, maxBackoff: '5000ms' },
      devices: [1, 2, 3].map((u) => ({ id: `dev-${u}`, unitId: u, profile: 'vibration-transmitter' })),
    });
    await d.start();
    await waitFor(() => d.devices()[1]!.state === 'offline', { message: 'dead slave offline' });
    // The backoff grows 400, 800, 1600, 3200 ms from here: after 3 s, probes are at least 3.2 s apart.
    await new Promise((r) => setTimeout(r, 3000));
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const window = readings.filter((r) => r.ts >= from);
    // 20 polls due per live slave in 4 s. A probe of the dead slave holds the line for its timeout plus
    // an equal guard (300 ms), so it may cost each neighbour two polls; at most one probe falls in the
    // window, and one poll may fall at its edge. A neighbour held up on every poll would get about 10.
    expect(pollsOf(window, 'dev-1')).toBeGreaterThanOrEqual(16);
    expect(pollsOf(window, 'dev-3')).toBeGreaterThanOrEqual(16);
    expect(d.devices().map((x) => x.state)).toEqual(['online', 'offline', 'online']);
  });

  it('resynchronises through line noise and never takes a late answer for the next one', async () => {
    const slow = new SimSlave(1, vib, (t) => transmitterValues(model(1), t), () => T);
    const other = new SimSlave(2, vib, (t) => transmitterValues(model(5), t), () => T);
    const b = await bus([slow, other]);
    b.noise = 5;
    const { driver: d, readings } = driver({
      kind: 'modbus-rtu',
      port: line.a,
      defaults: { pollInterval: '100ms', timeout: '150ms', retries: 0 },
      devices: [
        { id: 'slow', unitId: 1, profile: 'vibration-transmitter' },
        { id: 'other', unitId: 2, profile: 'vibration-transmitter' },
      ],
    });
    await d.start();
    await waitFor(() => pollsOf(readings, 'slow') >= 3 && pollsOf(readings, 'other') >= 3, { message: 'polling through noise' });
    // Now unit 1 answers after its timeout: its late replies must be dropped, not given to unit 2.
    slow.faults.delayMs = 200;
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const v1 = transmitterValues(model(1), T);
    const v2 = transmitterValues(model(5), T);
    for (const r of readings) {
      const want = (r.deviceId === 'slow' ? v1 : v2)[r.metric as MetricId]!;
      expect(r.value, `${r.deviceId} ${r.metric}`).toBeCloseTo(want, r.metric.endsWith('temp') ? 1 : 4);
    }
    // The poll-rate guarantee is the dead-slave test's; here the neighbour only has to keep being served.
    expect(pollsOf(readings.filter((r) => r.ts >= from), 'other')).toBeGreaterThanOrEqual(4);
    expect(d.devices()[0]!.state).not.toBe('online');
  });
});
