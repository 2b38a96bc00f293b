import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { metricValue, parseConfig } from '../../core/index.ts';
import { ModbusTcpSimServer, SimSlave, transmitterValues } from '../../firmware-sim/index.ts';
import { DRIVERS, DriverConfigSchema } from '../../gateway/index.ts';
import type { Driver } from '../../gateway/drivers/types.ts';
import { type ModbusDriver, loadProfiles } from '../../gateway/modbus/index.ts';
import { collectingContext } from '../helpers/modbus.ts';
import { waitFor } from '../helpers/net.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('long-run polling', () => {
  const servers: ModbusTcpSimServer[] = [];
  let d: ModbusDriver | undefined;
  afterAll(async () => {
    await d?.stop();
    for (const s of servers) await s.stop();
  });

  it('keeps memory flat over two hours worth of polls (4 devices × 7,200 polls, run fast)', async () => {
    const vib = loadProfiles([]).get('vibration-transmitter')!;
    const T = Date.UTC(2026, 3, 1);
    const model = { id: 'm', seed: 1, vibration: 1.4, temperature: 45, ambient: 22, sensorFaults: [] };
    for (let i = 0; i < 4; i++) servers.push(await new ModbusTcpSimServer([new SimSlave(1, vib, (t) => transmitterValues(model, t), () => T)]).start());
    const c = collectingContext();
    let kept = 0;
    // Count and drop readings, as the outbox would take them away: only the driver's memory is measured.
    c.ctx.sink = { accept: async (rs) => void (kept += rs.length), seen: () => false };
    const parsed = parseConfig(DriverConfigSchema, {
      kind: 'modbus-tcp',
      defaults: { pollInterval: '4ms' },
      devices: servers.map((s, i) => ({ id: `dev-${i}`, host: '127.0.0.1', port: s.port, profile: 'vibration-transmitter' })),
    }, {});
    d = (DRIVERS.find((x) => x.kind === 'modbus-tcp')!.create as (c: unknown, ctx: unknown) => Driver)(parsed, c.ctx) as ModbusDriver;
    await d.start();
    const total = 4 * 7200;
    const polls = () => metricValue(c.ctx.registry, 'vigil_modbus_polls_total', { outcome: 'ok' });
    await waitFor(async () => (await polls()) >= total * 0.2, { timeoutMs: 120_000, message: 'warm-up polls' });
    const early = heapAfterGc();
    await waitFor(async () => (await polls()) >= total, { timeoutMs: 240_000, intervalMs: 500, message: `${total} polls` });
    const late = heapAfterGc();
    expect(kept).toBeGreaterThanOrEqual(total * 6);
    expect(await metricValue(c.ctx.registry, 'vigil_modbus_polls_total', { outcome: 'failed' })).toBe(0);
    // A leak of even 100 bytes per poll would show as 2 MB here.
    expect(late - early).toBeLessThan(2 * 1024 * 1024);
  }, 300_000);
});
