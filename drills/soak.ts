import { readFileSync } from 'node:fs';
import { hashSecret } from '../core/index.ts';
import { VigilProcess } from '../test/helpers/child.ts';
import { freePort } from '../test/helpers/net.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { SamplePublisher, mqttClient, sleep, writeProcessConfigs } from './common.ts';

/** Resident memory of a process in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * `seconds` at `rate` readings a second through a gateway and a server, each its own process as in
 * production. Samples both processes' RSS every 5 s; the slope is fitted after the first fifth (warm-up).
 */
export async function soakDrill(o: { seconds: number; rate: number }): Promise<Record<string, number>> {
  const tmp = tempDir('vigil-soak-');
  const [http, mqtt, gwHttp, sensors] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const password = 'soak-gateway-password';
  const files = writeProcessConfigs(tmp.dir, { name: 'soak', passwordHash: hashSecret(password), ports: { http, mqtt, gwHttp, sensors }, topic: 'sensors/{device}' });
  const server = new VigilProcess(['server', '-c', files.server], { VIGIL_LOG_LEVEL: 'warn' }).start();
  const gateway = new VigilProcess(['gateway', '-c', files.gateway], { VIGIL_LOG_LEVEL: 'warn', DRILL_PASSWORD: password }).start();
  try {
    await sleep(3000);
    const sensor = await mqttClient(`mqtt://127.0.0.1:${sensors}`, { clientId: 'soak-sensor' });
    const start = { server: rssMb(server.pid!), gateway: rssMb(gateway.pid!) };
    const samples: { t: number; server: number; gateway: number }[] = [];
    const pub = new SamplePublisher(sensor, o.rate, 200);
    const t0 = Date.now();
    pub.start();
    while (Date.now() - t0 < o.seconds * 1000) {
      await sleep(5000);
      samples.push({ t: (Date.now() - t0) / 3_600_000, server: rssMb(server.pid!), gateway: rssMb(gateway.pid!) });
    }
    pub.stop();
    await sleep(2000);
    const ingested = Number(/^vigil_readings_ingested_total (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text())?.[1] ?? 0);
    await sensor.endAsync();
    const warm = samples.filter((s) => s.t >= (o.seconds / 5) / 3600);
    const end = samples[samples.length - 1]!;
    const r1 = (x: number) => Math.round(x * 10) / 10;
    return {
      seconds: o.seconds,
      rate: o.rate,
      sent: pub.sent,
      acknowledged: pub.acknowledged,
      stored: ingested,
      server_rss_start_mb: r1(start.server),
      server_rss_end_mb: r1(end.server),
      server_slope_mb_per_h: r1(slope(warm.map((s) => [s.t, s.server]))),
      gateway_rss_start_mb: r1(start.gateway),
      gateway_rss_end_mb: r1(end.gateway),
      gateway_slope_mb_per_h: r1(slope(warm.map((s) => [s.t, s.gateway]))),
    };
  } finally {
    await gateway.kill('SIGTERM');
    await server.kill('SIGTERM');
    tmp.cleanup();
  }
}
