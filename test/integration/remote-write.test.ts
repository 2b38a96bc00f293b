import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { SITE, type ServerHandle, asGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type Sample, Victoria } from '../helpers/victoria.ts';

// Two sinks side by side: InfluxDB line protocol into one VictoriaMetrics, Prometheus remote write into
// another. Both must hold the same series, with the same names, labels, values and times.
describe('prometheus-remote-write sink against a real receiver (VictoriaMetrics /api/v1/write)', () => {
  const tmp = tempDir();
  let viaInflux: Victoria;
  let viaRemote: Victoria;
  let srv: ServerHandle;
  let gw: Awaited<ReturnType<typeof asGateway>>;

  beforeAll(async () => {
    viaInflux = await new Victoria().start();
    viaRemote = await new Victoria().start();
    srv = await startServer({ dataDir: join(tmp.dir, 'server'), influxUrl: viaInflux.url, sinks: [{ kind: 'prometheus-remote-write', url: `${viaRemote.url}/api/v1/write` }] });
    gw = await asGateway(srv.brokerUrl);
  });

  afterAll(async () => {
    gw?.client.end(true);
    await srv?.server.stop();
    await viaInflux?.destroy();
    await viaRemote?.destroy();
    tmp.cleanup();
  });

  const sorted = (series: Sample[]) =>
    series
      .map((s) => ({ metric: s.metric, points: s.timestamps.map((t, i) => [t, s.values[i]!] as const).sort((a, b) => a[0] - b[0]) }))
      .sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));

  it('stores every reading once, as the influxdb sink does, with quality as a label', async () => {
    const t0 = Date.now() - 3_600_000;
    const readings: Reading[] = [];
    for (let i = 0; i < 200; i++) {
      readings.push({ deviceId: 'pump-1', metric: 'vibration_rms', value: 1 + i / 1000, ts: t0 + i * 1000 });
      readings.push({ deviceId: 'fan-2', metric: 'bearing_temp', value: -5.5 + i, ts: t0 + i * 1000, ...(i % 50 === 0 ? { quality: 'bad' as const } : {}) });
    }
    await gw.send(readings);
    await waitFor(async () => (await viaRemote.count()) >= 400 && (await viaInflux.count()) >= 400, { timeoutMs: 30_000, message: 'readings in both stores' });
    const remote = await viaRemote.export();
    expect(remote.reduce((n, s) => n + s.values.length, 0)).toBe(400);
    expect(sorted(remote)).toEqual(sorted(await viaInflux.export()));
    expect(remote.find((s) => s.metric.quality === 'bad')?.metric).toMatchObject({ __name__: 'telemetry_bearing_temp', site: SITE, device: 'fan-2' });
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_delivery_attempts_total\{output="prometheus-remote-write",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/vigil_delivery_queue\{output="prometheus-remote-write"\} 0/);
  });

  it('keeps readings in its spool while the receiver is down, and delivers them when it returns', async () => {
    await viaRemote.stop();
    const t0 = Date.now() - 1_800_000;
    await gw.send(Array.from({ length: 50 }, (_, i) => ({ deviceId: 'pump-9', metric: 'speed_rpm' as const, value: 1480 + i, ts: t0 + i })));
    await waitFor(async () => (await viaInflux.count('{__name__="telemetry_speed_rpm"}')) === 50, { timeoutMs: 20_000, message: 'the other sink is not held up' });
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_delivery_queue\{output="prometheus-remote-write"\} 50/);
    await viaRemote.start();
    await waitFor(async () => (await viaRemote.count('{__name__="telemetry_speed_rpm"}')) === 50, { timeoutMs: 40_000, message: 'the spool drained' });
  });
});
