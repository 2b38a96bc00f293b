import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  /** The server's process id while it runs (benchmarks count its CPU). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** `scrape`: host:port targets whose /metrics VictoriaMetrics scrapes every second, as Prometheus would. */
  async start(opts: { scrape?: string[] } = {}): Promise<this> {
    const bin = requireBinary('/usr/bin/victoria-metrics', 'victoria-metrics');
    if (this.port === 0) this.port = await freePort();
    let scrapeArgs: string[] = [];
    if (opts.scrape?.length) {
      const file = join(this.tmp.dir, 'scrape.yml');
      writeFileSync(file, `scrape_configs:\n  - job_name: vigil\n    scrape_interval: 1s\n    static_configs:\n      - targets: [${opts.scrape.map((t) => `"${t}"`).join(', ')}]\n`);
      scrapeArgs = [`-promscrape.config=${file}`];
    }
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
        ...scrapeArgs,
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

  /** A PromQL range query (last `days` days, one point per `step`), as Grafana would send it. */
  async queryRange(query: string, days: number, step = '1h'): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const end = Math.floor(Date.now() / 1000);
    const q = new URLSearchParams({ query, start: String(end - days * 86_400), end: String(end), step });
    const res = await fetch(`${this.url}/api/v1/query_range?${q}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    if (body.status !== 'success') throw new Error(`${query}: ${body.error ?? res.status}`);
    return body.data!.result;
  }

  /** Number of stored samples (duplicates included, so a double write shows). */
  async count(selector?: string): Promise<number> {
    return (await this.export(selector)).reduce((n, s) => n + s.values.length, 0);
  }
}
