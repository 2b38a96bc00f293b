import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';

/** Bytes a SQLite file takes on disk with its WAL (what an edge device's disk actually holds). */
export function sqliteBytes(file: string): number {
  let n = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      // no WAL yet
    }
  }
  return n;
}

export async function mqttClient(url: string, opts: Parameters<typeof connect>[1] = {}): Promise<MqttClient> {
  const c = connect(url, { reconnectPeriod: 200, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/**
 * Publishes sensor samples at `rate` readings a second (three metrics a message, over `devices`
 * devices) until `stop()` is called; counts what the broker acknowledged. Each sample's time and value
 * are unique per device, so what the store holds can be counted against what was sent.
 */
export class SamplePublisher {
  sent = 0;
  acknowledged = 0;
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly rate: number,
    private readonly devices: number,
    private readonly t0 = Date.now() - 3_600_000,
  ) {}

  start(): void {
    const perTick = Math.max(1, Math.round(this.rate / 3 / 10));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.publishOne();
    }, 100);
  }

  publishOne(): void {
    const n = this.n++;
    const device = `dev-${n % this.devices}`;
    const k = Math.floor(n / this.devices);
    // Realistic values: slow drift plus noise, at the resolution transmitters report.
    const sample = {
      ts: this.t0 + k * 1000,
      vibration_rms: Math.round((2 + 0.3 * Math.sin(k / 50) + Math.random() * 0.2) * 1000) / 1000,
      vibration_kurtosis: Math.round((3 + Math.random() * 0.4) * 100) / 100,
      bearing_temp: Math.round((45 + 5 * Math.sin(k / 300) + Math.random()) * 10) / 10,
    };
    this.sent += 3;
    this.client.publish(`sensors/${device}`, JSON.stringify(sample), { qos: 1 }, (err) => {
      if (!err) this.acknowledged += 3;
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  return false;
}

/**
 * A server and a gateway config (JSON, which is YAML) for drills that run both as `vigil` processes on
 * loopback: the gateway hosts an anonymous site broker and logs in upstream with `${DRILL_PASSWORD}`.
 */
export function writeProcessConfigs(
  dir: string,
  o: { name: string; passwordHash: string; ports: { http: number; mqtt: number; gwHttp: number; sensors: number }; topic: string; influx?: Record<string, unknown>; uplink?: Record<string, unknown> },
): { server: string; gateway: string } {
  const server = join(dir, 'server.yaml');
  const gateway = join(dir, 'gateway.yaml');
  const gatewayId = `gw-${o.name}`;
  writeFileSync(
    server,
    JSON.stringify({
      version: 1,
      dataDir: join(dir, 'server'),
      http: { port: o.ports.http, requireAuth: false },
      broker: { mode: 'embedded', port: o.ports.mqtt, gateways: [{ gatewayId, site: o.name, passwordHash: o.passwordHash }] },
      ...(o.influx ? { sinks: [{ kind: 'influxdb', ...o.influx }] } : {}),
    }),
  );
  writeFileSync(
    gateway,
    JSON.stringify({
      version: 1,
      site: o.name,
      gatewayId,
      dataDir: join(dir, 'gw'),
      acceptUnknownDevices: true,
      http: { port: o.ports.gwHttp, requireAuth: false },
      drivers: [{ kind: 'mqtt-device', id: 'local', broker: { mode: 'embedded', port: o.ports.sensors, allowAnonymous: true }, topics: [{ pattern: o.topic }] }],
      uplink: { url: `mqtt://127.0.0.1:${o.ports.mqtt}`, password: '${DRILL_PASSWORD}', ...o.uplink },
    }),
  );
  return { server, gateway };
}

/**
 * A sensor on a gateway's site broker that publishes numbered readings at QoS 1 (`vibration_rms` of
 * `dev-<n mod devices>`, sample time t0 + n ms, so the TSDB's timestamps give the numbers back) and a
 * bearing that stays too hot (`hot-1`, one problem: one ticket whatever crashes; its samples are 5
 * minutes apart in sample time, so the limit rule's 10 minutes pass within three samples). A persistent
 * session and the client's own store: what the gateway did not acknowledge is sent again, and a
 * message reported failed is published again, as a well-behaved sensor does.
 */
export class NumberedSensor {
  readonly t0 = Date.now() - 3_600_000;
  readonly acked = new Set<number>();
  sent = 0;
  private n = 0;
  private hotK = 0;
  private readonly hotT0 = Date.now() - 24 * 3_600_000;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: MqttClient,
    private readonly devices: number,
    private readonly value: (n: number) => number,
  ) {}

  static async connect(url: string, clientId: string, o: { devices: number; value: (n: number) => number }): Promise<NumberedSensor> {
    const client = await mqttClient(url, { clientId, clean: false });
    // Refused reconnects while the gateway is killed: the client keeps trying.
    client.on('error', () => undefined);
    return new NumberedSensor(client, o.devices, o.value);
  }

  /** Publishes `rate` numbered readings a second, and the hot bearing once a second, until {@link stop}. */
  start(rate: number): void {
    const perTick = Math.max(1, Math.round(rate / 10));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.publish(this.n++);
      if (this.n % (perTick * 10) < perTick) this.hot();
    }, 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async close(): Promise<void> {
    this.stop();
    await this.client.endAsync(true);
  }

  /** What the TSDB holds of the numbered readings: distinct numbers, samples in all, and acknowledged numbers missing. */
  async count(vm: { export(selector: string): Promise<{ timestamps: number[] }[]> }): Promise<{ stored: number; raw: number; lost: number }> {
    const seen = new Set<number>();
    let raw = 0;
    for (const s of await vm.export('{__name__="telemetry_vibration_rms"}')) {
      for (const ts of s.timestamps) {
        raw++;
        seen.add(ts - this.t0);
      }
    }
    let lost = 0;
    for (const a of this.acked) if (!seen.has(a)) lost++;
    return { stored: seen.size, raw, lost };
  }

  private publish(n: number, again = false): void {
    if (!again) this.sent++;
    this.client.publish(`sensors/dev-${n % this.devices}/vibration_rms`, JSON.stringify({ value: this.value(n), ts: this.t0 + n }), { qos: 1 }, (err) => {
      if (err) setTimeout(() => this.publish(n, true), 200);
      else this.acked.add(n);
    });
  }

  private hot(): void {
    this.client.publish('sensors/hot-1/bearing_temp', JSON.stringify({ value: 110, ts: Math.min(Date.now(), this.hotT0 + this.hotK++ * 300_000) }), { qos: 1 });
  }
}
