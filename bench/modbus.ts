import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../test/helpers/net.ts';

const SIM = fileURLToPath(new URL('./modbus-sim.ts', import.meta.url));
const PROFILES = fileURLToPath(new URL('./profiles/', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

const VIGIL = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** Prometheus text: the sum over every series of `name` whose labels include `labels` (e.g. `outcome="ok"`). */
function sample(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) if (!labels || (m[1] ?? '').includes(labels)) sum += Number(m[2]);
  return sum;
}

/** p-quantile of a histogram in Prometheus text, interpolating within the bucket. */
function quantile(text: string, name: string, q: number): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm'))].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
  const total = buckets.at(-1)?.n ?? 0;
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

/**
 * The gateway as it is deployed: `vigil gateway -c FILE`, compiled, in its own process, polling the
 * simulated devices; CPU read from /proc (every thread), figures from its own /metrics.
 */
export async function runModbus(ports: number[], broker: number, dir: string, pollInterval: number, seconds: number) {
  const httpPort = await freePort();
  const file = join(dir, `gw-${pollInterval}.yaml`);
  writeFileSync(
    file,
    stringify({
      version: 1,
      site: 'bench',
      gatewayId: 'bench-gw',
      dataDir: join(dir, `gw-${pollInterval}`),
      acceptUnknownDevices: true,
      http: { host: '127.0.0.1', port: httpPort },
      drivers: [
        {
          kind: 'modbus-tcp',
          profiles: [PROFILES],
          defaults: { pollInterval: `${pollInterval}ms`, timeout: '1s' },
          devices: ports.map((port, i) => ({ id: `dev-${i}`, host: '127.0.0.1', port, profile: 'bench-20' })),
        },
      ],
      uplink: { url: `mqtt://127.0.0.1:${broker}`, password: '${PW}', maxReadingsPerEnvelope: 500 },
    }),
  );
  const gw = spawn(process.execPath, [VIGIL, 'gateway', '-c', file], { env: { ...process.env, PW: 'x', VIGIL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 100));
    // Let every device be polled a few times (the first polls are spread over one interval), then measure.
    await new Promise((r) => setTimeout(r, Math.max(3000, pollInterval * 3)));
    const m0 = await metrics();
    const cpu0 = cpuSeconds(gw.pid!);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = cpuSeconds(gw.pid!) - cpu0;
    const ms = Date.now() - t0;
    const m1 = await metrics();
    const polls = sample(m1, 'vigil_modbus_polls_total', 'outcome="ok"') - sample(m0, 'vigil_modbus_polls_total', 'outcome="ok"');
    const values = sample(m1, 'vigil_gateway_uplink_readings_total') - sample(m0, 'vigil_gateway_uplink_readings_total');
    const cpuPct = (cpu / (ms / 1000)) * 100;
    const valuesPerS = (values / ms) * 1000;
    return {
      pollsPerS: Math.round((polls / ms) * 1000),
      valuesPerS: Math.round(valuesPerS),
      p99Ms: Math.round(quantile(m1, 'vigil_modbus_poll_duration_seconds', 0.99) * 10000) / 10,
      cpuPct: Math.round(cpuPct * 10) / 10,
      /** Share of one core per 1,000 values read, decoded, stored in the outbox and sent upstream each second. */
      cpuPctPer1000ValuesPerS: valuesPerS > 0 ? Math.round((cpuPct / (valuesPerS / 1000)) * 100) / 100 : null,
      failed: sample(m1, 'vigil_modbus_polls_total', 'outcome="failed"'),
      rssMB: Math.round(rssBytes(gw.pid!) / 1e6),
    };
  } finally {
    gw.kill('SIGKILL');
  }
}

/** How quickly `vigil --help` answers (median of runs, wall clock) and with how much memory. */
export function benchStartup(runs = 7): { helpMs: number; helpRssMB: number } {
  const times: number[] = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, VIGIL, '--help'], { encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    rss = Math.max(rss, Number(r.stderr.trim().split('\n').at(-1)) * 1024);
  }
  times.sort((a, b) => a - b);
  return { helpMs: Math.round(times[Math.floor(runs / 2)]!), helpRssMB: Math.round(rss / 1e6) };
}

/**
 * An idle gateway (site broker for MQTT sensors, uplink, outbox, no API): its resident memory after
 * a minute, once V8's memory reducer has returned what start-up used (about 15 MB more before that).
 */
export async function benchIdleGateway(dir: string, broker: number): Promise<{ idleRssMB: number; idleRssAt10sMB: number; idleRssUnitMB: number }> {
  const file = join(dir, 'idle-gw.yaml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      site: 'bench',
      gatewayId: 'idle-gw',
      dataDir: join(dir, 'idle-gw'),
      devices: [{ id: 'pump-1' }],
      drivers: [{ kind: 'mqtt-device', broker: { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}' }] }],
      uplink: { url: `mqtt://127.0.0.1:${broker}`, password: '${PW}' },
    }),
  );
  // As `vigil gateway` runs by default, and as examples/systemd/vigil-gateway.service runs it.
  const idle = async (nodeFlags: string[]) => {
    const gw = spawn(process.execPath, [...nodeFlags, VIGIL, 'gateway', '-c', file], { env: { ...process.env, PW: 'x', VIGIL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      await new Promise((r) => setTimeout(r, 10_000));
      const early = rssBytes(gw.pid!);
      // V8's memory reducer returns start-up's garbage some time in the first minute; take the settled figure.
      await new Promise((r) => setTimeout(r, 50_000));
      return { settled: Math.round(rssBytes(gw.pid!) / 1e6), early: Math.round(early / 1e6) };
    } finally {
      gw.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const plain = await idle([]);
  const unit = await idle(['--v8-pool-size=0']);
  return { idleRssMB: plain.settled, idleRssAt10sMB: plain.early, idleRssUnitMB: unit.settled };
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
    const at1hz = await runModbus(ports, broker, dir, 1000, 20);
    const max = await runModbus(ports, broker, dir, 20, 5);
    const idle = await benchIdleGateway(dir, broker);
    return { devices, at1hz, max, ...idle };
  } finally {
    sim.kill('SIGKILL');
  }
}
