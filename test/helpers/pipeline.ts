import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { type Logger, type Reading, createLogger, createRegistry, gatewayClientId, gatewayTopic, hashSecret, metricValue, parseConfig, silentLogger, systemClock, type Registry } from '../../core/index.ts';
import { type Gateway, GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { type Server, ServerConfigSchema, buildServer } from '../../server/index.ts';
import { tempDir } from './tmp.ts';
import { Victoria } from './victoria.ts';

export const SITE = 'plant-a';
export const GATEWAY_ID = 'gw-1';
export const GATEWAY_PASSWORD = 'gateway-secret-for-tests';

export function testLogger(): Logger {
  return process.env.VIGIL_TEST_LOG ? createLogger({ level: process.env.VIGIL_TEST_LOG as 'debug' }) : silentLogger();
}

export interface ServerHandle {
  server: Server;
  registry: Registry;
  brokerUrl: string;
  httpUrl: string;
  ingested(): Promise<number>;
}

/** A server with its embedded broker on `brokerPort` (0: any free port) and, optionally, a TSDB. */
export async function startServer(opts: {
  dataDir: string;
  influxUrl?: string;
  /** More sinks beside the influxdb one of `influxUrl`. */
  sinks?: Record<string, unknown>[];
  brokerPort?: number;
  /** Take Envelopes from this broker instead of hosting one. */
  external?: { url: string | string[]; username: string; password: string };
  intake?: Record<string, unknown>;
  rules?: Record<string, unknown>;
  tickets?: Record<string, unknown>;
  /** Merged into the http section; by default the loopback API is open (tests of access set requireAuth). */
  http?: Record<string, unknown>;
  /** Environment for `${VAR}` references in the config (secrets). */
  env?: Record<string, string>;
  /** More gateway ids (same site and password) beside gw-1. */
  moreGateways?: string[];
  /** The embedded broker's limits. */
  brokerLimits?: Record<string, unknown>;
  /** A PostgreSQL URL for the server's store (default: the SQLite file in dataDir). */
  database?: string | undefined;
  /** With `external` and `database`: share the shards with other servers through leases. */
  cluster?: { memberId: string; failoverAfter: string; fleetShareEvery?: string };
}): Promise<ServerHandle> {
  const broker = opts.external
    ? { mode: 'external', url: opts.external.url, username: opts.external.username, password: '${SERVER_BROKER_PASSWORD}', clientId: 'vigil-server-test', ...(opts.cluster ? { shards: 'leased' } : {}) }
    : {
        mode: 'embedded',
        host: '127.0.0.1',
        port: opts.brokerPort ?? 0,
        gateways: [GATEWAY_ID, ...(opts.moreGateways ?? [])].map((gatewayId) => ({ gatewayId, site: SITE, passwordHash: passwordHash() })),
        ...(opts.brokerLimits ? { limits: opts.brokerLimits } : {}),
      };
  const config = parseConfig(
    ServerConfigSchema,
    {
      version: 1,
      dataDir: opts.dataDir,
      ...(opts.database ? { database: { url: opts.database } } : {}),
      http: { host: '127.0.0.1', port: 0, requireAuth: false, ...opts.http },
      broker,
      ...(opts.intake ? { intake: opts.intake } : {}),
      ...(opts.rules ? { rules: opts.rules } : {}),
      ...(opts.tickets ? { tickets: opts.tickets } : {}),
      ...(opts.cluster ? { cluster: opts.cluster } : {}),
      sinks: [...(opts.influxUrl ? [{ kind: 'influxdb', url: opts.influxUrl, org: 'vigil', bucket: 'telemetry' }] : []), ...(opts.sinks ?? [])],
    },
    { SERVER_BROKER_PASSWORD: opts.external?.password, ...opts.env },
  );
  const registry = createRegistry();
  const server = await buildServer(config, { log: testLogger(), clock: systemClock, registry });
  await server.start();
  const http = server.httpAddress();
  return {
    server,
    registry,
    brokerUrl: opts.external ? [opts.external.url].flat()[0]! : `mqtt://127.0.0.1:${server.brokerPort()}`,
    httpUrl: `http://127.0.0.1:${http.port}`,
    ingested: () => metricValue(registry, 'vigil_readings_ingested_total'),
  };
}

let cachedHash: string | undefined;
export function passwordHash(): string {
  return (cachedHash ??= hashSecret(GATEWAY_PASSWORD));
}

export const DEVICES = ['pump-1', 'pump-2', 'fan-1', 'compressor-1'];

/** The gateway config used by the tests, as a plain object (the same shape as the YAML). */
export function gatewayConfigObject(opts: { dataDir: string; uplinkUrl: string | string[]; localPort?: number; maxDelay?: number }) {
  return {
    version: 1,
    site: SITE,
    gatewayId: GATEWAY_ID,
    dataDir: opts.dataDir,
    devices: DEVICES.map((id) => ({ id })),
    drivers: [
      {
        kind: 'mqtt-device',
        id: 'local',
        broker: { mode: 'embedded', host: '127.0.0.1', port: opts.localPort ?? 0, allowAnonymous: true },
        topics: [{ pattern: 'sensors/{device}/{metric}' }, { pattern: 'sensors/{device}' }],
      },
    ],
    uplink: { url: opts.uplinkUrl, password: '${GW_PASSWORD}', maxDelay: `${opts.maxDelay ?? 100}ms`, reconnect: { initial: '200ms', max: '1000ms' } },
  };
}

export async function startGateway(opts: { dataDir: string; uplinkUrl: string | string[]; localPort?: number; password?: string }): Promise<{ gateway: Gateway; registry: Registry; localUrl: string }> {
  const config = parseConfig(GatewayConfigSchema, gatewayConfigObject(opts), { GW_PASSWORD: opts.password ?? GATEWAY_PASSWORD });
  const registry = createRegistry();
  const gateway = buildGateway(config, { log: testLogger(), clock: systemClock, registry });
  await gateway.start();
  const port = (gateway.drivers[0]!.status() as { port: number }).port;
  return { gateway, registry, localUrl: `mqtt://127.0.0.1:${port}` };
}

export async function sensor(url: string): Promise<MqttClient> {
  const c = connect(url, { clientId: `sensor-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 200, clean: false });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

export function dataDir(root: string, name: string): string {
  return join(root, name);
}

/** Publishes `count` JSON samples (3 readings each, unique sample times from `t0`) and waits for every PUBACK. */
export async function publishSamples(client: MqttClient, count: number, opts: { t0: number; device?: string; everyMs?: number }): Promise<number> {
  const device = opts.device ?? 'pump-1';
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const ts = opts.t0 + i;
    pending.push(client.publishAsync(`sensors/${device}`, JSON.stringify({ ts, vibration_rms: 1 + (i % 100) / 100, vibration_kurtosis: 3, bearing_temp: 40 + (i % 10) }), { qos: 1 }));
    if (opts.everyMs) await new Promise((r) => setTimeout(r, opts.everyMs));
  }
  await Promise.all(pending);
  return count * 3;
}

/** Distinct (series, timestamp) points: what InfluxDB keeps, since it overwrites identical points. */
export function distinctPoints(series: { metric: Record<string, string>; timestamps: number[] }[]): number {
  const seen = new Set<string>();
  for (const s of series) {
    const key = JSON.stringify(s.metric);
    for (const t of s.timestamps) seen.add(`${key}@${t}`);
  }
  return seen.size;
}

export interface Pipeline {
  vm: Victoria;
  srv: ServerHandle;
  gw: Gateway;
  gwRegistry: Registry;
  /** A sensor connected to the gateway's site broker. */
  sensor: MqttClient;
  stop(): Promise<void>;
}

/** VictoriaMetrics, a server on its embedded broker, a gateway hosting the site broker, and one sensor. */
export async function startPipeline(opts: { intake?: Record<string, unknown> } = {}): Promise<Pipeline> {
  const tmp = tempDir();
  const vm = await new Victoria().start();
  const srv = await startServer({ dataDir: join(tmp.dir, 'server'), influxUrl: vm.url, ...(opts.intake ? { intake: opts.intake } : {}) });
  const g = await startGateway({ dataDir: join(tmp.dir, 'gw'), uplinkUrl: srv.brokerUrl });
  const s = await sensor(g.localUrl);
  return {
    vm,
    srv,
    gw: g.gateway,
    gwRegistry: g.registry,
    sensor: s,
    async stop() {
      await s.endAsync();
      await g.gateway.stop();
      await srv.server.stop();
      await vm.destroy();
      tmp.cleanup();
    },
  };
}

/** Publishes readings as gateway gw-1 would: Envelopes over MQTT, QoS 1, to the server's broker. */
export async function asGateway(url: string): Promise<{ client: MqttClient; send(readings: Reading[]): Promise<void> }> {
  const client = connect(url, { clientId: `${gatewayClientId(GATEWAY_ID)}/test-${Date.now()}`, username: GATEWAY_ID, password: GATEWAY_PASSWORD });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const bootId = `boot-${Date.now()}`;
  let seq = 0;
  return {
    client,
    async send(readings) {
      for (let i = 0; i < readings.length; i += 500) {
        const env = { v: 1, site: SITE, gatewayId: GATEWAY_ID, bootId, seq: seq++, sentAt: Date.now(), readings: readings.slice(i, i + 500) };
        await client.publishAsync(gatewayTopic(SITE, GATEWAY_ID, 'envelope'), JSON.stringify(env), { qos: 1 });
      }
    },
  };
}
