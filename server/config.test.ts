import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createLogger, createRegistry, parseConfig, systemClock } from '../core/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { buildServer } from './build.ts';
import { ServerConfigSchema } from './config.ts';

const base = { version: 1, broker: { mode: 'embedded', port: 0 } };
const problems = (raw: unknown) => {
  try {
    parseConfig(ServerConfigSchema, raw, {});
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
};

describe('server config: sinks', () => {
  const tmp = tempDir();
  afterEach(async () => tmp.cleanup());

  it('takes sinks by kind, and refuses unknown kinds, a kind twice, and the old influx: section beside an influxdb sink', async () => {
    expect(problems({ ...base, sinks: [{ kind: 'influxdb', url: 'http://127.0.0.1:8428' }] })).toEqual([]);
    expect(problems({ ...base, sinks: [{ kind: 'carrier-pigeon' }] }).join()).toMatch(/^sinks\.0/);
    expect(problems({ ...base, sinks: [{ kind: 'influxdb', url: 'http://a:1' }, { kind: 'influxdb', url: 'http://b:1' }] })).toEqual(['sinks.1.kind: a second influxdb sink: one of each kind']);
    expect(problems({ ...base, influx: { url: 'http://a:1' }, sinks: [{ kind: 'influxdb', url: 'http://b:1' }] })).toEqual(['influx: give the TSDB in sinks: or in the old influx: section, not both']);
  });

  it('still reads the deprecated influx: section as an influxdb sink, and says to rewrite it', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    const config = parseConfig(ServerConfigSchema, { ...base, dataDir: tmp.dir, http: { port: 0 }, influx: { url: 'http://127.0.0.1:9', bucket: 'old' } }, {});
    const server = await buildServer(config, { log: createLogger({ destination: out, level: 'warn' }), clock: systemClock, registry: createRegistry() });
    expect(server.sinks).toHaveLength(1);
    expect(server.influx).toBe(server.sinks[0]);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      expect(lines.map((l) => JSON.parse(l).msg)).toContainEqual(expect.stringMatching(/influx: section is deprecated/));
    });
  });
});

describe('server config: leased shards', () => {
  const external = { mode: 'external', url: 'mqtt://broker:1883', shards: 'leased' };
  it('shares shards only through a PostgreSQL store, and checks the cluster section', () => {
    expect(problems({ version: 1, broker: external })).toEqual(['broker.shards: leased shards are shared through the PostgreSQL store: set database.url']);
    expect(problems({ version: 1, broker: external, database: { url: 'postgres://vigil@db:5432/vigil' }, cluster: { memberId: 'server-1', failoverAfter: '15s' } })).toEqual([]);
    expect(problems({ version: 1, broker: external, database: { url: 'postgres://vigil@db:5432/vigil' }, cluster: { failoverAfter: 'soon' } }).join()).toMatch(/^cluster\.failoverAfter/);
    // A share every 0 s would query the store in a loop.
    for (const fleetShareEvery of ['0s', 0, '10ms', 'soon', -5]) {
      expect(problems({ version: 1, broker: external, database: { url: 'postgres://vigil@db:5432/vigil' }, cluster: { fleetShareEvery } }).join(), String(fleetShareEvery)).toMatch(/^cluster\.fleetShareEvery/);
    }
    expect(problems({ version: 1, broker: { ...external, shards: 'some' } }).join()).toMatch(/^broker/);
  });

  // Other servers send the caller's token to advertiseUrl, and the server connects to every broker URL:
  // anything but a plain http(s) origin or an mqtt(s) URL is refused with its path.
  it('takes every broker node as a list and an advertised API origin, and refuses what is not one', () => {
    const db = { url: 'postgres://vigil@db:5432/vigil' };
    const nodes = ['mqtt://10.0.0.11:1883', 'mqtts://10.0.0.12:8883'];
    expect(problems({ version: 1, broker: { ...external, url: nodes }, database: db, cluster: { advertiseUrl: 'https://server-1.internal:8080' } })).toEqual([]);
    expect(problems({ version: 1, broker: { ...external, url: [...nodes, 'http://10.0.0.13'] }, database: db })).toEqual([expect.stringMatching(/^broker\.url\.2: an mqtt:\/\/ or mqtts:\/\/ URL/)]);
    expect(problems({ version: 1, broker: { ...external, url: [] }, database: db })).toEqual([expect.stringMatching(/^broker\.url: at least one broker URL/)]);
    for (const advertiseUrl of ['javascript:alert(1)', 'file:///etc/passwd', 'https://evil.example/steal?x=', 'https://server-1.internal:8080/api', '//server-1']) {
      expect(problems({ version: 1, broker: external, database: db, cluster: { advertiseUrl } }), advertiseUrl).toEqual([expect.stringMatching(/^cluster\.advertiseUrl: an http:\/\/ or https:\/\/ URL without a path/)]);
    }
  });
});
