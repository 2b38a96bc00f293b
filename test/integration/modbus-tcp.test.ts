import { afterEach, describe, expect, it } from 'vitest';
import type { MetricId } from '../../core/index.ts';
import { type DeviceModel, ModbusTcpSimServer, SimSlave, transmitterValues } from '../../firmware-sim/index.ts';
import { type Profile, ProfileSchema, loadProfiles } from '../../gateway/modbus/index.ts';
import { modbusDriver, pollsOf, profileFolder } from '../helpers/modbus.ts';
import { waitFor } from '../helpers/net.ts';

const T = Date.UTC(2026, 3, 1, 12);
const DAY = 86_400_000;
const fan: DeviceModel = { id: 'fan-2', seed: 22, vibration: 1.6, temperature: 50, ambient: 22, fault: { kind: 'bearing_wear', onset: T - 10 * DAY, failsAt: T + 3 * DAY }, sensorFaults: [] };
const vib = loadProfiles([]).get('vibration-transmitter')!;

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

async function server(slaves: SimSlave[]): Promise<ModbusTcpSimServer> {
  const s = await new ModbusTcpSimServer(slaves).start();
  running.push(s);
  return s;
}

const driver = (config: Record<string, unknown>) => modbusDriver(config, running);


describe('modbus-tcp against simulated devices', () => {
  it('decodes every metric of the vibration transmitter to the value the device encoded', async () => {
    const srv = await server([new SimSlave(1, vib, (t) => transmitterValues(fan, t), () => T)]);
    const { driver: d, readings } = driver({ kind: 'modbus-tcp', defaults: { pollInterval: '100ms' }, devices: [{ id: 'fan-2', host: '127.0.0.1', port: srv.port, profile: 'vibration-transmitter' }] });
    await d.start();
    await waitFor(() => readings.length >= 6, { message: 'one poll of six metrics' });
    const want = transmitterValues(fan, T);
    const first = readings.slice(0, 6);
    expect(first.map((r) => r.metric).sort()).toEqual(['bearing_temp', 'vibration_accel_rms', 'vibration_crest', 'vibration_kurtosis', 'vibration_peak', 'vibration_rms']);
    // float32 on the wire, and bearing_temp in signed tenths of a degree.
    for (const r of first) expect(r.value).toBeCloseTo(want[r.metric as MetricId]!, r.metric === 'bearing_temp' ? 1 : 4);
    expect(new Set(first.map((r) => r.ts)).size).toBe(1);
    expect(d.devices()[0]).toMatchObject({ id: 'fan-2', state: 'online', consecutiveFailures: 0 });
  });

  it('finds a hole inside a coalesced read, reads around it, and never shifts a value', async () => {
    const gappy = {
      name: 'gappy',
      maxGap: 8,
      registers: [
        { metric: 'speed_rpm', table: 'holding', address: 0, type: 'uint16' },
        { metric: 'motor_current', table: 'holding', address: 1, type: 'uint16', scale: 0.1 },
        { metric: 'motor_temp', table: 'holding', address: 6, type: 'int16', scale: 0.1 },
        { metric: 'ambient_temp', table: 'holding', address: 7, type: 'int16', scale: 0.1 },
      ],
    };
    const folder = profileFolder([gappy]);
    running.push(folder);
    const values = { speed_rpm: 1480, motor_current: 12.5, motor_temp: 61.2, ambient_temp: 24.3 };
    const slave = new SimSlave(1, ProfileSchema.parse(gappy) as Profile, () => values, () => T, { holes: [{ table: 'holding', address: 4 }] });
    const srv = await server([slave]);
    const { driver: d, readings } = driver({ kind: 'modbus-tcp', profiles: [folder.dir], defaults: { pollInterval: '50ms' }, devices: [{ id: 'm-1', host: '127.0.0.1', port: srv.port, profile: 'gappy' }] });
    await d.start();
    await waitFor(() => readings.length >= 12, { message: 'three polls' });
    for (const r of readings) expect(r.value).toBeCloseTo(values[r.metric as keyof typeof values], 5);
    expect(d.devices()[0]).toMatchObject({ state: 'online', learnedHoles: 1, consecutiveFailures: 0 });
  });

  it('keeps polling its neighbours at their rate while one unit behind the same connection is dead', async () => {
    const slaves = [1, 2, 3].map((u) => new SimSlave(u, vib, (t) => transmitterValues(fan, t)));
    slaves[1]!.faults.silent = true;
    const srv = await server(slaves);
    const { driver: d, readings } = driver({
      kind: 'modbus-tcp',
      defaults: { pollInterval: '100ms', timeout: '200ms', offlineAfter: 2, maxBackoff: '2000ms' },
      devices: [1, 2, 3].map((u) => ({ id: `dev-${u}`, host: '127.0.0.1', port: srv.port, unitId: u, profile: 'vibration-transmitter' })),
    });
    await d.start();
    await waitFor(() => d.devices()[1]!.state === 'offline', { message: 'dead unit offline' });
    // Steady state: 40 polls are due per healthy device in 4 s. The dead unit is probed with backoff
    // (at most every 2 s here, 60 s by default), each probe costing its neighbours a poll or two.
    // Without the backoff every cycle would wait out its 200 ms timeout: about 13 polls each. The
    // bound sits between the two with room for a loaded CI machine, since this is wall-clock time.
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const window = readings.filter((r) => r.ts >= from);
    expect(pollsOf(window, 'dev-1')).toBeGreaterThanOrEqual(26);
    expect(pollsOf(window, 'dev-3')).toBeGreaterThanOrEqual(26);
    expect(pollsOf(readings, 'dev-2')).toBe(0);
    const states = Object.fromEntries(d.devices().map((x) => [x.id, x.state]));
    expect(states).toEqual({ 'dev-1': 'online', 'dev-2': 'offline', 'dev-3': 'online' });
  });

  it('recovers by itself when the device restarts', async () => {
    const srv = await server([new SimSlave(1, vib, (t) => transmitterValues(fan, t))]);
    const { driver: d, readings } = driver({ kind: 'modbus-tcp', defaults: { pollInterval: '50ms', timeout: '200ms', offlineAfter: 2 }, devices: [{ id: 'fan-2', host: '127.0.0.1', port: srv.port, profile: 'vibration-transmitter' }] });
    await d.start();
    await waitFor(() => d.devices()[0]!.state === 'online', { message: 'online' });
    await srv.restart(1500);
    await waitFor(() => d.devices()[0]!.state === 'offline', { message: 'offline during the restart' }).catch(() => undefined);
    const before = readings.length;
    await waitFor(() => d.devices()[0]!.state === 'online' && readings.length > before + 12, { timeoutMs: 15_000, message: 'polling again after the restart' });
  });

  it('recovers from a desync (an answer with a stale transaction id) without a restart', async () => {
    const srv = await server([new SimSlave(1, vib, (t) => transmitterValues(fan, t), () => T)]);
    const { driver: d, readings } = driver({ kind: 'modbus-tcp', defaults: { pollInterval: '50ms' }, devices: [{ id: 'fan-2', host: '127.0.0.1', port: srv.port, profile: 'vibration-transmitter' }] });
    await d.start();
    await waitFor(() => readings.length >= 12, { message: 'polling' });
    srv.staleOnce = true;
    await waitFor(() => !srv.staleOnce, { message: 'stale answer sent' });
    const after = readings.length;
    await waitFor(() => readings.length >= after + 30, { message: 'polling resumes' });
    const transport = (d as unknown as { links: { desyncs: number }[] }).links[0]!;
    expect(transport.desyncs).toBeGreaterThanOrEqual(1);
    // Every value, before and after the desync, is the right one: none was taken from a stale answer.
    const want = transmitterValues(fan, T);
    for (const r of readings) expect(r.value).toBeCloseTo(want[r.metric as MetricId]!, r.metric === 'bearing_temp' ? 1 : 4);
  });
});
