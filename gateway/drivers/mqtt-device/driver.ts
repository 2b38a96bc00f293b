import { createHash, timingSafeEqual } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import type { PublishPacket } from 'aedes';
import { Counter, EmbeddedBroker, TransitionLog, type Rejection, filterCovers, topicMatches } from '../../../core/index.ts';
import type { MessageOrigin } from '../../outbox/types.ts';
import type { Driver, DriverContext } from '../types.ts';
import type { MqttDeviceConfig } from './config.ts';
import { parsePayload } from './payload.ts';
import { TopicMap } from './topic-map.ts';

interface SensorPrincipal {
  username: string | undefined;
  publish: readonly string[];
  subscribe: readonly string[];
  devices: ReadonlySet<string> | undefined;
}

type Acl = { publish?: readonly string[] | undefined; subscribe: readonly string[]; devices?: readonly string[] | undefined };

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
  /** Resent messages whose readings were already taken. */
  private resends = 0;
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
      const mapped = this.topics.filters();
      const principal = (username: string | undefined, acl: Acl): SensorPrincipal => ({
        username,
        publish: acl.publish ?? mapped,
        subscribe: acl.subscribe,
        devices: acl.devices ? new Set(acl.devices) : undefined,
      });
      const users = b.users.map((u) => ({ username: u.username, password: u.password === undefined ? undefined : Buffer.from(u.password), principal: principal(u.username, u) }));
      const anonymous = principal(undefined, b.anonymous);
      const retained = new Map<string, number>();
      const refused =
        (this.ctx.registry.getSingleMetric('vigil_gateway_broker_refused_connections_total') as Counter<'driver' | 'reason'> | undefined) ??
        new Counter({ name: 'vigil_gateway_broker_refused_connections_total', help: 'Site broker connections turned away, by reason', labelNames: ['driver', 'reason'], registers: [this.ctx.registry] });
      this.broker = new EmbeddedBroker<SensorPrincipal>({
        host: b.host,
        port: b.port,
        plain: b.plain,
        tls: b.tls,
        log: this.ctx.log,
        limits: b.limits,
        maxPayloadBytes: this.config.maxPayloadBytes,
        onRefused: (reason) => refused.inc({ driver: this.id, reason }),
        hooks: {
          authenticate: (username, password, _clientId, certificateName) => {
            if (certificateName !== undefined) {
              // A verified client certificate names the sensor user; a username, if sent, must agree.
              const u = users.find((x) => x.username === certificateName);
              return u && (username === undefined || username === certificateName) ? u.principal : undefined;
            }
            if (username === undefined) return b.allowAnonymous ? anonymous : undefined;
            const u = users.find((x) => x.username === username);
            const given = Buffer.from(password ?? '');
            if (u?.password && u.password.length === given.length && timingSafeEqual(u.password, given)) return u.principal;
            return b.allowAnonymous && password === undefined ? anonymous : undefined;
          },
          onPublish: async (p, packet, clientId) => {
            const refusal = this.refusal(p, packet.topic);
            if (refusal) {
              this.reject({ code: 'acl', message: `${p.username ?? 'anonymous'} ${refusal}` }, packet.topic.slice(0, 200));
              return 'deny' as const;
            }
            if (packet.retain) this.limitRetained(packet, retained, b.retained);
            const payload = packet.payload as Buffer;
            const origin =
              packet.qos > 0 && packet.messageId !== undefined
                ? { clientId, messageId: packet.messageId, digest: createHash('sha1').update(packet.topic).update('\u0000').update(payload).digest('base64').slice(0, 16) }
                : undefined;
            // A resend (DUP) of a message whose readings are already on disk: the gateway crashed between
            // the write and the PUBACK. Acknowledge it again; taking it twice would store it twice.
            if (origin && packet.dup && this.ctx.sink.seen(origin)) {
              this.resends++;
              return 'accept' as const;
            }
            await this.handle(packet.topic, payload, origin);
            return 'accept' as const;
          },
          authorizeSubscribe: (p, filter) => p.subscribe.some((allowed) => filterCovers(allowed, filter)),
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

  get tlsPort(): number | undefined {
    return this.broker?.tlsPort;
  }

  status(): Record<string, unknown> {
    return {
      id: this.id,
      kind: this.kind,
      broker: this.config.broker.mode,
      port: this.broker?.port,
      tlsPort: this.broker?.tlsPort,
      connected: this.client ? this.client.connected : this.broker !== undefined,
      messages: this.messages,
      resends: this.resends,
      lastMessageAt: this.lastMessageAt,
    };
  }

  /** Why this sensor may not publish to this topic, or undefined when it may. */
  private refusal(p: SensorPrincipal, topic: string): string | undefined {
    if (!p.publish.some((f) => topicMatches(f, topic))) return 'may not publish to this topic';
    if (p.devices) {
      const match = this.topics.match(topic);
      if (match && 'deviceId' in match && !p.devices.has(match.deviceId)) return `may not speak for device ${match.deviceId}`;
    }
    return undefined;
  }

  /**
   * Keeps retained messages within bounds: a message beyond them is still delivered (and its readings
   * taken) but not retained, so sensors cannot fill the gateway's memory with retained payloads.
   */
  private limitRetained(packet: PublishPacket, retained: Map<string, number>, limits: { maxMessages: number; maxBytes: number }): void {
    const size = (packet.payload as Buffer).length;
    if (size === 0) {
      retained.delete(packet.topic); // MQTT 3.1.1 §3.3.1.3: an empty retained message clears the topic
      return;
    }
    if (size > limits.maxBytes || (!retained.has(packet.topic) && retained.size >= limits.maxMessages)) {
      packet.retain = false;
      this.reject({ code: 'retained_limit', message: `retained message of ${size} bytes not kept (limits: ${limits.maxMessages} topics, ${limits.maxBytes} bytes)` }, packet.topic.slice(0, 200));
      return;
    }
    retained.set(packet.topic, size);
  }

  /** One sensor message → readings in the outbox; refusals are counted with their reason. */
  async handle(topic: string, payload: Buffer, origin?: MessageOrigin): Promise<void> {
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
      await this.ctx.sink.accept(readings, origin);
      this.ctx.accepted(this.id, readings.length);
    }
  }

  private reject(r: Rejection, topic: string, deviceId?: string): void {
    this.ctx.rejected(this.id, r, { topic, deviceId });
  }
}
