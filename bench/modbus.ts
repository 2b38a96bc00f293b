import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Registry, createRegistry, metricValue, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { GatewayConfigSchema, buildGateway } from '../gateway/index.ts';

const SIM = fileURLToPath(new URL('./modbus-sim.ts', import.meta.url));
const PROFILES = fileURLToPath(new URL('./profiles/', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

/** p-quantile from a prom-client histogram, interpolating within the bucket. */
async function quantile(registry: Registry, name: string, q: number): Promise<number> {
  const m = ((await registry.getSingleMetric(name)!.get()).values as { metricName?: string; labels: Record<string, string | number>; value: number }[]).filter((v) => v.metricName === `${name}_bucket`);
  const buckets = m.map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value })).sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)!.n;
  const want = total * q;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= want) return b.le === Infinity ? prevLe : prevLe + ((want - prevN) / Math.max(1, b.n - prevN)) * (b.le - prevLe);
    prevLe = b.le;
    prevN = b.n;
  }
  return prevLe;
}

async function run(ports: number[], broker: number, dir: string, pollInterval: number, seconds: number) {
  const config = parseConfig(
    GatewayConfigSchema,
    {
      version: 1,
      site: 'bench',
      gatewayId: 'bench-gw',
      dataDir: join(dir, `gw-${pollInterval}`),
      acceptUnknownDevices: true,
      drivers: [
        {
          kind: 'modbus-tcp',
          profiles: [PROFILES],
          defaults: { pollInterval: `${pollInterval}ms`, timeout: '1s' },
          devices: ports.map((port, i) => ({ id: `dev-${i}`, host: '127.0.0.1', port, profile: 'bench-20' })),
        },
      ],
      uplink: { url: `mqtt://127.0.0.1:${broker}`, password: '${PW}', maxReadingsPerEnvelope: 500 },
    },
    { PW: 'x' },
  );
  const registry = createRegistry();
  const gateway = buildGateway(config, { log: silentLogger(), clock: systemClock, registry });
  await gateway.start();
  // Let every device be polled once (the first polls are spread over one interval), then measure.
  await new Promise((r) => setTimeout(r, Math.max(1500, pollInterval * 2)));
  const ok0 = await metricValue(registry, 'vigil_modbus_polls_total', { outcome: 'ok' });
  registry.getSingleMetric('vigil_modbus_poll_duration_seconds')!.reset();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const ms = Date.now() - t0;
  const ok = (await metricValue(registry, 'vigil_modbus_polls_total', { outcome: 'ok' })) - ok0;
  const failed = await metricValue(registry, 'vigil_modbus_polls_total', { outcome: 'failed' });
  const p99 = await quantile(registry, 'vigil_modbus_poll_duration_seconds', 0.99);
  const uplinked = await metricValue(registry, 'vigil_gateway_uplink_readings_total');
  await gateway.stop();
  return { pollsPerS: Math.round((ok / ms) * 1000), p99Ms: Math.round(p99 * 10000) / 10, cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / ms) * 100), failed, uplinked };
}

export async function benchModbus(dir: string, devices = 200) {
  const sim = spawn(process.execPath, ['--import', TSX, SIM, '--devices', String(devices), '--profiles', PROFILES], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const { ports, broker } = await new Promise<{ ports: number[]; broker: number }>((resolve, reject) => {
      let out = '';
      sim.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) resolve(JSON.parse(line) as { ports: number[]; broker: number });
      });
      sim.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
    });
    const at1hz = await run(ports, broker, dir, 1000, 10);
    const max = await run(ports, broker, dir, 20, 5);
    return { devices, at1hz, max };
  } finally {
    sim.kill('SIGKILL');
  }
}
