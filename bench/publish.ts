import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));
export const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

/** Runs bench/publisher.ts in its own process (the process under test keeps the other core); resolves with when its timed part began. */
export function publish(args: Record<string, string | number>): Promise<{ start: number }> {
  const argv = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const p = spawn(process.execPath, ['--import', TSX, PUBLISHER, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let start = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"event":"start","at":(\d+)/.exec(out);
      if (m) start = Number(m[1]);
    });
    p.on('exit', (code) => (code === 0 ? resolve({ start }) : reject(new Error(`publisher exited ${code}: ${out}`))));
  });
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now();
}

