import { timingSafeEqual } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { EmbeddedBroker, TransitionLog, type Rejection } from '../../../core/index.ts';
import type { Driver, DriverContext } from '../types.ts';
import type { MqttDeviceConfig } from './config.ts';
import { parsePayload } from './payload.ts';
import { TopicMap } from './topic-map.ts';

interface SensorPrincipal {
  username: string | undefined;
}

/**
 * Takes readings from sensors that publish over MQTT: either hosting the site's broker itself
 * (embedded aedes, the readings are taken in-process) or subscribing to an existing one.
 * Either way a QoS 1 message is acknowledged only after its readings are in the outbox.
 */
export class MqttDeviceDriver implements Driver {
  readonly kind = 'mqtt-device';
  readonly id: string;
  readonly name: string;
  private readonly topics: TopicMap;
  private broker: EmbeddedBroker<SensorPrincipal> | undefined;
  private client: MqttClient | undefined;
  private readonly link: TransitionLog;
  private messages = 0;
  private lastMessageAt: number | undefined;

  constructor(
    private readonly config: MqttDeviceConfig,
    private readonly ctx: DriverContext,
  ) {
    this.id = config.id;
    this.name = `driver:${config.id}`;
    this.topics = new TopicMap(config.topics);
    this.link = new TransitionLog(ctx.log, ctx.clock, `sensor broker ${config.id}`);
  }

  async start(): Promise<void> {
    const b = this.config.broker;
    if (b.mode === 'embedded') {
      const users = b.users.map((u) => ({ username: u.username, password: Buffer.from(u.password) }));
      this.broker = new EmbeddedBroker<SensorPrincipal>({
        host: b.host,
        port: b.port,
        log: this.ctx.log,
        hooks: {
          authenticate: (username, password) => {
            if (username === undefined) return b.allowAnonymous ? { username } : undefined;
            const u = users.find((x) => x.username === username);
            const given = Buffer.from(password ?? '');
            if (u && u.password.length === given.length && timingSafeEqual(u.password, given)) return { username };
            return b.allowAnonymous && password === undefined ? { username } : undefined;
          },
          onPublish: async (_p, packet) => {
            await this.handle(packet.topic, packet.payload as Buffer);
            return 'accept' as const;
          },
          // Local displays may watch the sensor topics; nothing else on the gateway's broker is private.
          authorizeSubscribe: () => true,
        },
      });
      await this.broker.start();
      return;
    }
    const client = connect(b.url, {
      clientId: b.clientId ?? `vigil-${this.config.id}-${process.pid}`,
      username: b.username,
      password: b.password,
      clean: b.clientId === undefined,
      reconnectPeriod: 2000,
      // MQTT.js stops for good after a refused CONNACK unless told otherwise; credentials fixed on the
      // broker side must not need a restart here.
      reconnectOnConnackError: true,
    });
    // MQTT.js sends the PUBACK only when this callback is called: after the durable append.
    client.handleMessage = (packet, done) => {
      this.handle(packet.topic, packet.payload as Buffer).then(
        () => done(),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    };
    client.on('connect', () => {
      this.link.up();
      client.subscribe(this.topics.filters(), { qos: 1 }, (err) => {
        if (err) this.ctx.log.error({ err: err.message }, 'subscribing to sensor topics failed');
      });
    });
    client.on('close', () => this.link.down('disconnected'));
    client.on('error', (err) => this.link.down(err.message));
    this.client = client;
  }

  async stop(): Promise<void> {
    await this.broker?.stop();
    if (this.client) await this.client.endAsync();
  }

  get port(): number | undefined {
    return this.broker?.port;
  }

  status(): Record<string, unknown> {
    return {
      id: this.id,
      kind: this.kind,
      broker: this.config.broker.mode,
      port: this.broker?.port,
      connected: this.client ? this.client.connected : this.broker !== undefined,
      messages: this.messages,
      lastMessageAt: this.lastMessageAt,
    };
  }

  /** One sensor message → readings in the outbox; refusals are counted with their reason. */
  async handle(topic: string, payload: Buffer): Promise<void> {
    const now = this.ctx.clock.now();
    this.messages++;
    this.lastMessageAt = now;
    const match = this.topics.match(topic);
    if (match === undefined) return; // not a sensor topic we map: other local traffic
    if ('code' in match) return this.reject(match, topic);
    if (payload.length > this.config.maxPayloadBytes) {
      return this.reject({ code: 'too_large', message: `payload of ${payload.length} bytes exceeds ${this.config.maxPayloadBytes}` }, topic, match.deviceId);
    }
    if (!this.ctx.isKnownDevice(match.deviceId)) {
      return this.reject({ code: 'unknown_device', message: `device ${match.deviceId} is not configured on this gateway` }, topic, match.deviceId);
    }
    const { readings, rejections } = parsePayload(payload, match, now, this.ctx.window());
    for (const r of rejections) this.reject(r, topic, match.deviceId);
    if (readings.length > 0) {
      await this.ctx.sink.accept(readings);
      this.ctx.accepted(this.id, readings.length);
    }
  }

  private reject(r: Rejection, topic: string, deviceId?: string): void {
    this.ctx.rejected(this.id, r, { topic, deviceId });
  }
}
