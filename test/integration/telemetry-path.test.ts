import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, SITE, type Pipeline, startPipeline } from '../helpers/pipeline.ts';

describe('telemetry path: sensor → gateway → embedded broker → server → VictoriaMetrics', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => p?.stop());

  it('stores every reading once, at its sample time, with site, gateway and device tags', async () => {
    const { vm, srv, sensor: s } = p;
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 100; i++) {
      await s.publishAsync('sensors/pump-1/vibration_rms', String(1 + i / 100), { qos: 1 }).catch(() => undefined);
      await s.publishAsync('sensors/pump-2', JSON.stringify({ ts: t0 + i, vibration_rms: 2 + i / 100, bearing_temp: { value: 40 + i / 10, unit: 'C' } }), { qos: 1 });
    }
    const expected = 300;
    await waitFor(async () => (await vm.count()) >= expected, { timeoutMs: 30_000, message: 'readings in VictoriaMetrics' });
    const series = await vm.export();
    expect(series.reduce((n, x) => n + x.values.length, 0)).toBe(expected);
    const temp = series.find((x) => x.metric.__name__ === 'telemetry_bearing_temp')!;
    expect(temp.metric).toMatchObject({ site: SITE, gateway: GATEWAY_ID, device: 'pump-2' });
    const ts = [...temp.timestamps].sort((a, b) => a - b);
    expect(ts[0]).toBe(t0);
    expect(ts[99]).toBe(t0 + 99);
    expect(temp.values).toContain(49.9);
    expect(await srv.ingested()).toBe(expected);
  });

  it('lists devices with last-seen time and last values, and exposes metrics and health', async () => {
    const { srv } = p;
    const res = await fetch(`${srv.httpUrl}/api/v1/devices`);
    const body = (await res.json()) as { devices: { deviceId: string; values: Record<string, { value: number }> }[] };
    const pump2 = body.devices.find((d) => d.deviceId === 'pump-2')!;
    expect(pump2.values.vibration_rms!.value).toBeCloseTo(2.99);
    expect(pump2.values.bearing_temp!.value).toBeCloseTo(49.9);
    expect((await fetch(`${srv.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${srv.httpUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_readings_ingested_total 300$/m);
    expect(metrics).toMatch(/^vigil_tsdb_written_readings_total 300$/m);
  });
});
