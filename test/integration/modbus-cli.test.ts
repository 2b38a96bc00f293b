import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceModel, ModbusRtuSimBus, ModbusTcpSimServer, SimSlave, transmitterValues } from '../../firmware-sim/index.ts';
import { loadProfiles } from '../../gateway/modbus/index.ts';
import { VigilProcess } from '../helpers/child.ts';
import { SerialPair } from '../helpers/modbus.ts';
import { freePort } from '../helpers/net.ts';

const T = Date.UTC(2026, 3, 1);
const model: DeviceModel = { id: 'm', seed: 4, vibration: 2.2, temperature: 47, ambient: 22, sensorFaults: [] };
const vib = loadProfiles([]).get('vibration-transmitter')!;
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

async function vigil(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = new VigilProcess(args).start();
  const code = await p.exited();
  return { code, output: p.output };
}

describe('vigil modbus read', () => {
  it('prints every decoded value, as JSON lines with --json', async () => {
    const srv = await new ModbusTcpSimServer([new SimSlave(3, vib, (t) => transmitterValues(model, t), () => T)]).start();
    running.push(srv);
    const r = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${srv.port}`, '--unit', '3', '--profile', 'vibration-transmitter', '--json']);
    expect(r.code).toBe(0);
    const lines = r.output.trim().split('\n').map((l) => JSON.parse(l) as { metric?: string; name?: string; value: number | string; unit?: string });
    const want = transmitterValues(model, T);
    const rms = lines.find((l) => l.metric === 'vibration_rms')!;
    expect(rms.unit).toBe('mm/s');
    expect(rms.value as number).toBeCloseTo(want.vibration_rms!, 4);
    expect(lines.find((l) => l.name === 'serial')).toEqual({ name: 'serial', value: 'SIM-3' });
    const text = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${srv.port}`, '--unit', '3', '--profile', 'vibration-transmitter']);
    expect(text.output).toMatch(/vibration_rms\s+[\d.]+ mm\/s\s+input 0 float32 CDAB/);
  });

  it('exits 1 when the device answers but a value is refused (a NaN from a failing sensor)', async () => {
    const srv = await new ModbusTcpSimServer([new SimSlave(3, vib, (t) => ({ ...transmitterValues(model, t), vibration_rms: Number.NaN }), () => T)]).start();
    running.push(srv);
    const r = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${srv.port}`, '--unit', '3', '--profile', 'vibration-transmitter']);
    expect(r.output).toMatch(/refused: .*vibration_rms|refused: .*finite/);
    expect(r.code).toBe(1);
  });

  it('names the exact failure: no answer, a Modbus exception, a refused connection', async () => {
    const dead = new SimSlave(1, vib, (t) => transmitterValues(model, t), () => T, { silent: true });
    const failing = new SimSlave(2, vib, (t) => transmitterValues(model, t), () => T, { exception: 4 });
    const srv = await new ModbusTcpSimServer([dead, failing]).start();
    running.push(srv);
    const silent = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${srv.port}`, '--unit', '1', '--profile', 'vibration-transmitter', '--timeout', '300']);
    expect(silent.code).toBe(1);
    expect(silent.output).toMatch(/no answer from unit 1 within 300 ms/);
    const exc = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${srv.port}`, '--unit', '2', '--profile', 'vibration-transmitter']);
    expect(exc.code).toBe(1);
    expect(exc.output).toMatch(/Modbus exception 4 \(server device failure\) reading holding 100\+4/);
    const refused = await vigil(['modbus', 'read', '--tcp', `127.0.0.1:${await freePort()}`, '--profile', 'vibration-transmitter']);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/cannot reach tcp:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });

  it('reads an RTU slave over a serial line', async () => {
    const line = await new SerialPair().start();
    running.push(line);
    const bus = await new ModbusRtuSimBus(line.b, 9600, [new SimSlave(7, vib, (t) => transmitterValues(model, t), () => T)]).start();
    running.push(bus);
    const r = await vigil(['modbus', 'read', '--rtu', line.a, '--baud', '9600', '--unit', '7', '--profile', 'vibration-transmitter', '--json']);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/"metric":"bearing_temp","value":[\d.]+,"unit":"°C"/);
  });
});
