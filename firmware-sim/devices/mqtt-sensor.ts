import { connect, type MqttClient } from 'mqtt';
import type { Sample } from '../signals/models.ts';

export interface SensorOptions {
  url: string;
  deviceId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** The CA to trust on an mqtts:// url. */
  ca?: Buffer | undefined;
  format: 'object' | 'per-metric';
  prefix: string;
  qos: 0 | 1;
}

/**
 * One simulated MQTT sensor with its own connection, as a real one would have. It publishes each
 * sample with its sample time, and counts what the broker has not acknowledged yet so the scenario
 * runner can hold back instead of queueing without bound.
 */
export class MqttSensor {
  private client: MqttClient | undefined;
  private pending = 0;
  published = 0;

  constructor(private readonly opts: SensorOptions) {}

  async connect(): Promise<void> {
    this.client = connect(this.opts.url, {
      clientId: `sim-${this.opts.deviceId}-${process.pid}`,
      username: this.opts.username,
      password: this.opts.password,
      reconnectPeriod: 1000,
      clean: true,
      ...(this.opts.ca ? { ca: this.opts.ca, rejectUnauthorized: true } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`sensor ${this.opts.deviceId}: no connection to ${this.opts.url} within 10 s`)), 10_000);
      this.client!.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  get inflight(): number {
    return this.pending;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  publish(sample: Sample, ts: number): void {
    const c = this.client;
    if (!c) return;
    const { deviceId, prefix, qos } = this.opts;
    const done = () => {
      this.pending--;
    };
    if (this.opts.format === 'object') {
      if (Object.keys(sample).length === 0) return;
      this.pending++;
      c.publish(`${prefix}/${deviceId}`, JSON.stringify({ ts, ...sample }), { qos }, done);
      this.published++;
      return;
    }
    for (const [metric, value] of Object.entries(sample)) {
      this.pending++;
      c.publish(`${prefix}/${deviceId}/${metric}`, JSON.stringify({ value, ts }), { qos }, done);
      this.published++;
    }
  }

  async close(): Promise<void> {
    await this.client?.endAsync();
  }
}
