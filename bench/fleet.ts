// One server's intake at fleet size, alone in its process so its RSS is the server's own:
//   node --expose-gc --import tsx bench/fleet.ts --series N --tsdb URL --dir D
// Prints one JSON line. bench/run.ts runs it at 1,000, 100,000 and 500,000 device-metrics.
// FLEET_NODE_FLAGS: node flags for the server process (e.g. --heap-growing-percent=30, which trades
// intake for memory under load); FLEET_SNAPSHOT: a file to write a heap snapshot to, at rest.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { metricValue } from '../core/index.ts';
import { BENCH_GATEWAY, TSX, publish, startBenchServer, until } from './publish.ts';

const ENVELOPE = 250;
const WARMUP_ROUNDS = 20;

export interface FleetFigure {
  series: number;
  readingsPerS: number;
  timedReadings: number;
  rssBytesPerDeviceMetric: number;
  heapBytesPerDeviceMetric: number;
  rssMB: number;
  heapTotalMB: number;
  externalMB: number;
  rssAtRestMB: number;
  heapTotalAtRestMB: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Memory once the intake has been idle a few seconds: V8's memory reducer has compacted and handed back what the burst used. */
async function atRest(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    gc();
  }
  return process.memoryUsage();
}

async function run(series: number, tsdb: string, dir: string, readings: number): Promise<FleetFigure> {
  const { server, registry } = await startBenchServer(join(dir, `fleet-${series}`), tsdb, 'fleet');
  gc();
  const base = process.memoryUsage();
  const timedRounds = Math.max(4, Math.ceil(readings / series));
  const total = series * (WARMUP_ROUNDS + timedRounds);
  const pub = publish({ url: `mqtt://127.0.0.1:${server.brokerPort()}`, username: BENCH_GATEWAY.gatewayId, password: BENCH_GATEWAY.password, mode: 'fleet', size: ENVELOPE, series, readings, warmup: WARMUP_ROUNDS });
  const end = await until(async () => (await metricValue(registry, 'vigil_tsdb_written_readings_total')) >= total, 1_800_000);
  const { start } = await pub;
  gc();
  const mem = process.memoryUsage();
  const rest = await atRest();
  if (process.env.FLEET_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.FLEET_SNAPSHOT);
  await server.stop();
  const timed = series * timedRounds;
  return {
    series,
    readingsPerS: Math.round(timed / ((end - start) / 1000)),
    timedReadings: timed,
    rssBytesPerDeviceMetric: Math.round((mem.rss - base.rss) / series),
    heapBytesPerDeviceMetric: Math.round((mem.heapUsed - base.heapUsed) / series),
    rssMB: Math.round(mem.rss / 1048576),
    heapTotalMB: Math.round(mem.heapTotal / 1048576),
    externalMB: Math.round((mem.external + mem.arrayBuffers) / 1048576),
    rssAtRestMB: Math.round(rest.rss / 1048576),
    heapTotalAtRestMB: Math.round(rest.heapTotal / 1048576),
  };
}

/** Runs one size in a fresh process. */
export function benchFleet(series: number, tsdb: string, dir: string, readings = 2_000_000): Promise<FleetFigure> {
  const self = fileURLToPath(import.meta.url);
  const p = spawn(process.execPath, [...(process.env.FLEET_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--expose-gc', '--import', TSX, self, '--series', String(series), '--tsdb', tsdb, '--dir', dir, '--readings', String(readings)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as FleetFigure) : reject(new Error(`fleet bench exited ${code}: ${out}`)))));
}

if (process.argv[1]?.endsWith('fleet.ts')) {
  const { values } = parseArgs({ options: { series: { type: 'string' }, tsdb: { type: 'string' }, dir: { type: 'string' }, readings: { type: 'string', default: '2000000' } } });
  console.log(JSON.stringify(await run(Number(values.series), values.tsdb!, values.dir!, Number(values.readings))));
  process.exit(0);
}
