import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const VIGIL = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

/** Runs `vigil ARGS` as a child process (so a test can SIGKILL it) and keeps the tail of its output. */
export class VigilProcess {
  private proc: ChildProcess | undefined;
  output = '';

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
  ) {}

  start(): this {
    this.proc = spawn(process.execPath, [VIGIL, ...this.args], {
      env: { ...process.env, VIGIL_LOG_FORMAT: 'json', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000));
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    return this;
  }

  /** Resolves with the exit code when the process ends by itself. */
  exited(): Promise<number | null> {
    const p = this.proc!;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
    return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} in output of vigil ${this.args.join(' ')}:\n${this.output}`);
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) throw new Error(`vigil exited ${this.proc.exitCode}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL gives the process no chance to clean up. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    return new Promise((resolve) => {
      p.once('exit', (code) => resolve(code));
      p.kill(signal);
    });
  }
}
