import type { IClientOptions, MqttClient } from 'mqtt';
import {
  AuthError,
  Backoff,
  type Clock,
  connectBroker,
  Counter,
  Gauge,
  type Logger,
  type Registry,
  type Service,
  type TimerHandle,
  TransitionLog,
  gatewayClientId,
  gatewayTopic,
  readTlsFiles,
  watchTlsFiles,
} from '../../core/index.ts';
import type { EnvelopeHeader, Outbox } from '../outbox/index.ts';
import { type UplinkConfig, uplinkUrls } from './config.ts';

export type UplinkState = 'connecting' | 'online' | 'offline';

export interface UplinkDeps {
  outbox: Outbox;
  header: EnvelopeHeader;
  log: Logger;
  clock: Clock;
  registry: Registry;
}

/**
 * Publishes sealed Envelopes from the outbox to the central broker at QoS 1, oldest first, with a
 * bounded window in flight; an Envelope leaves the outbox only on its PUBACK. The retained state
 * topic says `online` after each connect and the broker's last will says `offline` when the link dies.
 * Lifecycle: start() begins connecting and returns at once (the outbox holds everything meanwhile);
 * stop() publishes `offline` when it can and disconnects.
 */
export class Uplink implements Service {
  readonly name = 'uplink';
  private client: MqttClient | undefined;
  private readonly inflight = new Set<number>();
  private cursor = 0;
  private sealTimer: TimerHandle | undefined;
  private pumpQueued = false;
  private stopping = false;
  private authFailed = false;
  private currentState: UplinkState = 'connecting';
  private readonly link: TransitionLog;
  private readonly backoff: Backoff;
  private readonly metrics;
  private readonly envelopeTopic: string;
  private readonly stateTopic: string;
  private readonly statusTopic: string;
  private statusPayload: string | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly cfg: UplinkConfig,
    private readonly deps: UplinkDeps,
  ) {
    this.link = new TransitionLog(deps.log.child({ component: 'uplink' }), deps.clock, 'uplink');
    this.backoff = new Backoff({ initialMs: cfg.reconnect.initial, maxMs: cfg.reconnect.max });
    this.envelopeTopic = gatewayTopic(deps.header.site, deps.header.gatewayId, 'envelope');
    this.stateTopic = gatewayTopic(deps.header.site, deps.header.gatewayId, 'state');
    this.statusTopic = gatewayTopic(deps.header.site, deps.header.gatewayId, 'status');
    const registers = [deps.registry];
    this.metrics = {
      envelopes: new Counter({ name: 'vigil_gateway_uplink_envelopes_total', help: 'Envelopes acknowledged by the uplink broker', registers }),
      readings: new Counter({ name: 'vigil_gateway_uplink_readings_total', help: 'Readings acknowledged by the uplink broker', registers }),
      failures: new Counter({ name: 'vigil_gateway_uplink_connect_failures_total', help: 'Failed or lost uplink connections', registers }),
      connected: new Gauge({ name: 'vigil_gateway_uplink_connected', help: '1 while the uplink is connected', registers }),
    };
  }

  get state(): UplinkState {
    return this.currentState;
  }

  /** The broker URL connected to, or being tried. */
  get url(): string {
    return this.currentUrl();
  }

  private currentUrl: () => string = () => uplinkUrls(this.cfg)[0]!;

  async start(): Promise<void> {
    const { header } = this.deps;
    const opts: IClientOptions = {
      clientId: this.cfg.clientId ?? gatewayClientId(header.gatewayId),
      username: this.cfg.username ?? header.gatewayId,
      password: this.cfg.password,
      clean: true,
      reconnectPeriod: this.cfg.reconnect.initial,
      connectTimeout: 10_000,
      // MQTT.js stops for good after a refused CONNACK unless told otherwise; credentials fixed on the
      // broker side must not need a restart here.
      reconnectOnConnackError: true,
      will: { topic: this.stateTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(this.cfg.tls ? { ...readTlsFiles(this.cfg.tls), rejectUnauthorized: true, ...(this.cfg.tls.servername ? { servername: this.cfg.tls.servername } : {}) } : {}),
    };
    const { client, url: current } = connectBroker(this.cfg.url, opts);
    this.client = client;
    this.currentUrl = current;
    // MQTT.js builds each reconnect's TLS socket from client.options, so new files apply at the next connect.
    if (this.cfg.tls) this.unwatch = watchTlsFiles(this.cfg.tls, (ctx) => Object.assign(client.options, ctx), this.deps.log);
    client.on('connect', () => {
      this.currentState = 'online';
      this.metrics.connected.set(1);
      this.backoff.reset();
      this.authFailed = false;
      client.options.reconnectPeriod = this.cfg.reconnect.initial;
      // Everything not acknowledged is eligible again; MQTT.js resends what it still holds (in `inflight`).
      this.cursor = 0;
      this.link.up({ url: current() });
      client.publish(this.stateTopic, 'online', { qos: 1, retain: true });
      if (this.statusPayload) client.publish(this.statusTopic, this.statusPayload, { qos: 1, retain: true });
      this.schedulePump();
    });
    // mqtt.js reads reconnectPeriod when it arms the next attempt, so this sets the delay after this one.
    client.on('reconnect', () => {
      client.options.reconnectPeriod = this.backoff.next();
    });
    client.on('close', () => {
      if (this.stopping) return;
      if (this.currentState === 'online') this.metrics.failures.inc();
      this.currentState = 'offline';
      this.metrics.connected.set(0);
      this.link.down('connection closed', { url: current() });
    });
    client.on('error', (err) => {
      this.metrics.failures.inc();
      // CONNACK return codes 4 and 5 (MQTT 3.1.1 §3.2.2.3): retrying will not help until someone fixes the credentials.
      const rc = (err as { code?: unknown }).code;
      if ((rc === 4 || rc === 5) && !this.authFailed) {
        this.authFailed = true;
        const e = new AuthError(`uplink broker refused gateway ${this.deps.header.gatewayId}: check the uplink password and the server's gateways list`);
        this.deps.log.error({ url: current(), code: e.code }, e.message);
      }
      this.link.down(err.message, { url: current() });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unwatch?.();
    if (this.sealTimer) this.deps.clock.clearTimeout(this.sealTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client.publishAsync(this.stateTopic, 'offline', { qos: 1, retain: true }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
    }
    await client.endAsync(true);
    this.metrics.connected.set(0);
  }

  /** Publishes the retained device-status message (the latest wins; sent on each connect too). */
  publishStatus(payload: string): void {
    this.statusPayload = payload;
    if (this.client?.connected) this.client.publish(this.statusTopic, payload, { qos: 1, retain: true });
  }

  /** Tells the uplink that readings were appended. */
  notify(): void {
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    const client = this.client;
    const { outbox, header, clock } = this.deps;
    if (this.stopping) return;
    if (!client?.connected) {
      // Offline: seal full Envelopes anyway, so a long outage is stored compact, not as raw appends.
      while (outbox.depth().pendingReadings >= this.cfg.maxReadingsPerEnvelope && outbox.seal(header, this.cfg.maxReadingsPerEnvelope, clock.now()));
      return;
    }
    while (this.inflight.size < this.cfg.maxInflight) {
      // This runs after every append (each poll, each sensor message): ask the database for sealed
      // Envelopes only when there are more than the ones in flight.
      const s = outbox.depth();
      const next = s.sealedEnvelopes > this.inflight.size ? outbox.sealed(this.cursor, this.cfg.maxInflight + this.inflight.size + 1).find((e) => !this.inflight.has(e.id)) : undefined;
      let env = next;
      if (!env) {
        if (s.pendingReadings === 0) return;
        const waited = clock.now() - (s.oldestPendingAt ?? clock.now());
        if (s.pendingReadings < this.cfg.maxReadingsPerEnvelope && waited < this.cfg.maxDelay) {
          this.armSealTimer(this.cfg.maxDelay - waited);
          return;
        }
        env = outbox.seal(header, this.cfg.maxReadingsPerEnvelope, clock.now());
        if (!env) return;
      }
      const sent = env;
      this.inflight.add(sent.id);
      this.cursor = Math.max(this.cursor, sent.id);
      client.publish(this.envelopeTopic, sent.payload, { qos: 1 }, (err) => {
        this.inflight.delete(sent.id);
        if (err) {
          // Not acknowledged and no longer in MQTT.js's store (the client was ended): send it again later.
          this.cursor = Math.min(this.cursor, sent.id - 1);
        } else {
          outbox.ack(sent.id);
          this.metrics.envelopes.inc();
          this.metrics.readings.inc(sent.readingCount);
        }
        this.schedulePump();
      });
    }
  }

  private armSealTimer(ms: number): void {
    if (this.sealTimer) return;
    this.sealTimer = this.deps.clock.setTimeout(() => {
      this.sealTimer = undefined;
      this.schedulePump();
    }, Math.max(1, ms));
  }
}
