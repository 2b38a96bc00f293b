import { type ChildProcess, spawn } from 'node:child_process';
import { requireBinary, stopProcess } from './binaries.ts';
import { freePort, waitFor } from './net.ts';
import { tempDir } from './tmp.ts';

export interface Sample {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/**
 * VictoriaMetrics (Debian `victoria-metrics`) on a free loopback port with its own data dir: it
 * accepts the InfluxDB v2 write API, and its export API reads back exactly what was stored.
 */
export class Victoria {
  private proc: ChildProcess | undefined;
  private readonly tmp = tempDir('vigil-vm-');
  port = 0;

  /**
   * `overwrite`: identical points collapse into one (-dedup.minScrapeInterval=1ms), as InfluxDB
   * overwrites them; by default every sample written is kept, so a double write shows.
   */
  constructor(private readonly opts: { overwrite?: boolean } = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const bin = requireBinary('/usr/bin/victoria-metrics', 'victoria-metrics');
    if (this.port === 0) this.port = await freePort();
    this.proc = spawn(
      bin,
      [
        `-storageDataPath=${this.tmp.dir}`,
        `-httpListenAddr=127.0.0.1:${this.port}`,
        '-retentionPeriod=100y',
        '-loggerLevel=ERROR',
        '-search.disableCache',
        '-search.latencyOffset=0s',
        ...(this.opts.overwrite ? ['-dedup.minScrapeInterval=1ms'] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    this.proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    await waitFor(async () => (await fetch(`${this.url}/health`)).ok, { timeoutMs: 20_000, message: `VictoriaMetrics did not start: ${stderr}` });
    return this;
  }

  /** Stops the server (SIGTERM) and keeps its data, so `start()` brings it back on the same port. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await stopProcess(p);
  }

  async destroy(): Promise<void> {
    await this.stop();
    this.tmp.cleanup();
  }

  /** Every sample of metrics matching the selector, after making recent writes searchable. */
  async export(selector = '{__name__=~"telemetry_.*"}'): Promise<Sample[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const res = await fetch(`${this.url}/api/v1/export?match[]=${encodeURIComponent(selector)}`);
    if (!res.ok) throw new Error(`export failed: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return text
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as Sample);
  }

  /** Number of stored samples (duplicates included, so a double write shows). */
  async count(selector?: string): Promise<number> {
    return (await this.export(selector)).reduce((n, s) => n + s.values.length, 0);
  }
}
