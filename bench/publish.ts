import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRegistry, hashSecret, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { type Server, ServerConfigSchema, buildServer } from '../server/index.ts';

const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));
export const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

/**
 * Runs bench/publisher.ts in its own process (the process under test keeps the other core); resolves with
 * when its timed part began and the CPU it used over that part. `started` resolves when the timed part
 * begins (after the publisher has built its Envelopes), for benchmarks that count the machine's CPU.
 */
export function publish(args: Record<string, string | number>): Promise<{ start: number; cpuMs: number }> & { started: Promise<number> } {
  const argv = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const p = spawn(process.execPath, ['--import', TSX, PUBLISHER, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let onStart: (at: number) => void = () => {};
  const started = new Promise<number>((resolve) => (onStart = resolve));
  const done = new Promise<{ start: number; cpuMs: number }>((resolve, reject) => {
    let out = '';
    let start = 0;
    let cpuMs = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"event":"start","at":(\d+)/.exec(out);
      if (m && start === 0) {
        start = Number(m[1]);
        onStart(start);
      }
      const c = /"event":"acked".*"cpuMs":(\d+)/.exec(out);
      if (c) cpuMs = Number(c[1]);
    });
    p.on('exit', (code) => (code === 0 ? resolve({ start, cpuMs }) : reject(new Error(`publisher exited ${code}: ${out}`))));
  });
  // A publisher that fails before its timed part must not leave a waiter on `started` hanging.
  done.catch(() => onStart(0));
  return Object.assign(done, { started });
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now();
}


export const BENCH_GATEWAY = { gatewayId: 'bench-gw', site: 'bench', password: 'bench-password' } as const;

/**
 * A server as the benchmarks run it: embedded broker with one gateway, SQLite in `dataDir`, the TSDB
 * at `tsdb`; HTTP on an ephemeral loopback port without tokens (loopback only, so the figures are the
 * server's work, not token checks).
 */
export async function startBenchServer(dataDir: string, tsdb: string, bucket: string): Promise<{ server: Server; registry: ReturnType<typeof createRegistry> }> {
  const config = parseConfig(
    ServerConfigSchema,
    {
      version: 1,
      dataDir,
      http: { host: '127.0.0.1', port: 0, requireAuth: false, rateLimit: { perMinute: 1_000_000 } },
      broker: { mode: 'embedded', port: 0, gateways: [{ gatewayId: BENCH_GATEWAY.gatewayId, site: BENCH_GATEWAY.site, passwordHash: hashSecret(BENCH_GATEWAY.password) }] },
      influx: { url: tsdb, bucket },
    },
    {},
  );
  const registry = createRegistry();
  const server = await buildServer(config, { log: silentLogger(), clock: systemClock, registry });
  await server.start();
  return { server, registry };
}
