import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRIC_IDS, createRegistry, parseConfig, silentLogger, systemClock } from '../../core/index.ts';
import { ServerConfigSchema, buildServer } from '../../server/index.ts';
import { tempDir } from '../../test/helpers/tmp.ts';
import { DASHBOARDS } from './dashboards.ts';

type Target = { query?: string; expr?: string };
const targets = (d: Record<string, unknown>): Target[] => (d.panels as { targets: Target[] }[]).flatMap((p) => p.targets);

describe('Grafana dashboards as code', () => {
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    it(`${file} is what dashboards.ts generates (UPDATE_DASHBOARDS=1 rewrites it)`, () => {
      const path = new URL(`./dashboards/${file}`, import.meta.url);
      const want = `${JSON.stringify(make(), null, 2)}\n`;
      if (process.env.UPDATE_DASHBOARDS) {
        mkdirSync(new URL('.', path), { recursive: true });
        writeFileSync(path, want);
      }
      expect(readFileSync(path, 'utf8')).toBe(want);
    });
  }

  it('ships each dashboard for InfluxDB 2 (Flux) and for PromQL, and no stray files', () => {
    const shipped = ['influxdb2', 'promql'].flatMap((dir) => readdirSync(new URL(`./dashboards/${dir}/`, import.meta.url)).map((f) => `${dir}/${f}`));
    expect(shipped.sort()).toEqual(Object.keys(DASHBOARDS).sort());
    expect(readdirSync(new URL('./dashboards/', import.meta.url)).sort()).toEqual(['influxdb2', 'promql']);
  });

  it('names only catalog metrics in PromQL, and leaves out readings marked bad', () => {
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      if (!file.startsWith('promql/')) continue;
      for (const t of targets(make())) {
        for (const m of (t.expr ?? '').matchAll(/\btelemetry_([a-z_]+)\{/g)) {
          expect(METRIC_IDS).toContain(m[1]);
          expect(t.expr).toContain('quality!="bad"');
        }
      }
    }
  });

  it('queries only the telemetry measurement and metrics from the catalog', () => {
    let fields = 0;
    for (const make of Object.values(DASHBOARDS)) {
      for (const t of targets(make())) {
        if (!t.query) continue;
        for (const m of t.query.matchAll(/r\._measurement == "([^"]+)"/g)) expect(m[1]).toBe('telemetry');
        for (const m of t.query.matchAll(/r\._field == "([^"]+)"/g)) {
          expect(METRIC_IDS).toContain(m[1]);
          fields++;
        }
      }
    }
    expect(fields).toBeGreaterThanOrEqual(9);
  });

  it('uses only metrics the server exports on /metrics', async () => {
    const tmp = tempDir();
    const registry = createRegistry();
    const server = await buildServer(parseConfig(ServerConfigSchema, { version: 1, dataDir: tmp.dir, broker: { mode: 'embedded', port: 0 }, http: { port: 0 }, influx: { url: 'http://127.0.0.1:9' } }, {}), { log: silentLogger(), clock: systemClock, registry });
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    await server.stop().catch(() => undefined);
    tmp.cleanup();
    const used = Object.values(DASHBOARDS).flatMap((make) => targets(make()).flatMap((t) => [...(t.expr ?? '').matchAll(/\b(vigil_[a-z_]+)/g)].map((m) => m[1]!)));
    expect(used.length).toBeGreaterThan(5);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('provisions the datasources the dashboards name', () => {
    const ds = parse(readFileSync(new URL('./provisioning/datasources/vigil.yaml', import.meta.url), 'utf8')) as { datasources: { uid: string }[] };
    const uids = new Set(ds.datasources.map((d) => d.uid));
    for (const make of Object.values(DASHBOARDS)) for (const p of make().panels as { datasource: { uid: string } }[]) expect(uids).toContain(p.datasource.uid);
  });
});
