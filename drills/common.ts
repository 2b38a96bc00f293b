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
