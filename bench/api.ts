// The console's API at fleet size, alone in its process:
//   node --import tsx bench/api.ts --devices N --tsdb URL --dir D
// A server learns N devices (3 metrics each) over MQTT, the desk opens a ticket on every tenth device,
// then each route is called over HTTP, one call at a time. Prints one JSON line.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { metricValue } from '../core/index.ts';
import { BENCH_GATEWAY, TSX, publish, startBenchServer, until } from './publish.ts';

const METRICS = 3;
const CALLS = 40;

export interface ApiFigure {
  devices: number;
  openTickets: number;
  /** Per route: p95 and worst of {@link CALLS} calls, in ms, and the size of one answer. */
  routes: Record<string, { p95Ms: number; maxMs: number; bytes: number }>;
}

async function timed(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return { ms, bytes: text.length };
}

async function run(devices: number, tsdb: string, dir: string): Promise<ApiFigure> {
  const { server, registry } = await startBenchServer(join(dir, `api-${devices}`), tsdb, 'api');
  const base = `http://127.0.0.1:${server.httpAddress().port}`;
  const series = devices * METRICS;
  // Four rounds of every device-metric: every device is known, with last values and rule state.
  await publish({ url: `mqtt://127.0.0.1:${server.brokerPort()}`, username: BENCH_GATEWAY.gatewayId, password: BENCH_GATEWAY.password, mode: 'fleet', size: 250, series, metrics: METRICS, readings: series, warmup: 0 });
  await until(async () => (await metricValue(registry, 'vigil_tsdb_written_readings_total')) >= series * 4, 600_000);
  // Open tickets through the desk's own route, a few at a time.
  const tickets = Math.floor(devices / 10);
  for (let i = 0; i < tickets; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, tickets - i) }, async (_, k) => {
        const res = await fetch(`${base}/api/v1/tickets`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel: 'phone', contact: { name: 'Plant manager' }, site: BENCH_GATEWAY.site, deviceId: `dev-${(i + k) * 10}`, symptom: 'loud noise from the bearing', urgency: 'high' }),
        });
        if (res.status !== 201) throw new Error(`ticket: HTTP ${res.status} ${await res.text()}`);
      }),
    );
  }
  let n = 0;
  const device = () => `dev-${(n++ * 7919) % devices}`;
  const routes: Record<string, () => string> = {
    fleet: () => '/api/v1/fleet',
    fleet_critical: () => '/api/v1/fleet?health=critical',
    fleet_search: () => `/api/v1/fleet?q=${device()}`,
    devices: () => '/api/v1/devices',
    device_overview: () => `/api/v1/devices/${device()}/overview`,
    alerts: () => '/api/v1/alerts',
    tickets: () => '/api/v1/tickets',
  };
  const out: ApiFigure['routes'] = {};
  for (const [name, path] of Object.entries(routes)) {
    await timed(`${base}${path()}`); // the first call compiles the route's code
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < CALLS; i++) {
      const r = await timed(`${base}${path()}`);
      times.push(r.ms);
      bytes = r.bytes;
    }
    times.sort((a, b) => a - b);
    out[name] = { p95Ms: Math.round(times[Math.ceil(0.95 * CALLS) - 1]! * 10) / 10, maxMs: Math.round(times.at(-1)! * 10) / 10, bytes };
  }
  await server.stop();
  return { devices, openTickets: tickets, routes: out };
}

/** Runs one fleet size in a fresh process. */
export function benchApi(devices: number, tsdb: string, dir: string): Promise<ApiFigure> {
  const self = fileURLToPath(import.meta.url);
  const p = spawn(process.execPath, ['--import', TSX, self, '--devices', String(devices), '--tsdb', tsdb, '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ApiFigure) : reject(new Error(`api bench exited ${code}: ${out}`)))));
}

if (process.argv[1]?.endsWith('api.ts')) {
  const { values } = parseArgs({ options: { devices: { type: 'string', default: '50000' }, tsdb: { type: 'string' }, dir: { type: 'string' } } });
  console.log(JSON.stringify(await run(Number(values.devices), values.tsdb!, values.dir!)));
}
