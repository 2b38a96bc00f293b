import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTopic, metricValue } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

// A trial run sent a bad 60 °C reading and got a P1 ticket: quality was stored as good and drove rules.
describe('reading quality: stored and shown, but only good readings drive rules', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let seq = 0;
  const hot = (device: string, quality: string, from: number) =>
    // Twenty minutes of 110 °C, a minute apart: the bearing limit (critical 95, for 10 min) would fire.
    Array.from({ length: 20 }, (_, i) => ({ deviceId: device, metric: 'bearing_temp', value: 110, ts: from + i * 60_000, quality }));
  const send = (srv: ServerHandle, readings: unknown[]) =>
    srv.server.intake.accept(gatewayTopic('plant-a', 'gw-q', 'envelope'), Buffer.from(JSON.stringify({ v: 1, site: 'plant-a', gatewayId: 'gw-q', bootId: 'b', seq: seq++, sentAt: Date.now(), readings })));

  beforeAll(async () => {
    await vm.start();
  });
  afterAll(async () => {
    await vm.destroy();
    tmp.cleanup();
  });

  it('stores bad and uncertain readings tagged, counts them, keeps them out of rules, and shows them on the device', async () => {
    const srv = await startServer({ dataDir: `${tmp.dir}/a`, influxUrl: vm.url });
    const t0 = Date.now() - 3_600_000;
    await send(srv, [...hot('pump-bad', 'bad', t0), ...hot('pump-unsure', 'uncertain', t0), ...hot('pump-good', 'good', t0)]);
    await waitFor(() => srv.server.influx!.spoolReadings === 0, { message: 'spool drained to the TSDB' });
    expect(await srv.server.rules.findings.list({ deviceId: 'pump-bad', limit: 10 })).toEqual([]);
    expect(await srv.server.rules.findings.list({ deviceId: 'pump-unsure', limit: 10 })).toEqual([]);
    expect((await srv.server.rules.findings.list({ deviceId: 'pump-good', limit: 10 })).length).toBeGreaterThan(0);
    expect(await metricValue(srv.registry, 'vigil_readings_by_quality_total', { quality: 'bad' })).toBe(20);
    expect(await metricValue(srv.registry, 'vigil_readings_by_quality_total', { quality: 'uncertain' })).toBe(20);
    const bad = srv.server.devices.list().find((d) => d.deviceId === 'pump-bad')!;
    expect(bad.untrusted).toEqual({ bad: 20 });
    expect(bad.values.bearing_temp).toMatchObject({ value: 110, quality: 'bad' });
    const series = await vm.export('{__name__="telemetry_bearing_temp"}');
    const tagged = series.filter((s) => s.metric.quality === 'bad');
    expect(tagged.length).toBe(1);
    expect(tagged[0]!.values.length).toBe(20);
    await srv.server.stop();
  });

  it('lets uncertain readings drive rules when the operator says so', async () => {
    const srv = await startServer({ dataDir: `${tmp.dir}/b`, rules: { uncertain: 'include' } });
    await send(srv, hot('pump-unsure', 'uncertain', Date.now() - 3_600_000));
    expect((await srv.server.rules.findings.list({ deviceId: 'pump-unsure', limit: 10 })).length).toBeGreaterThan(0);
    await srv.server.stop();
  });
});
