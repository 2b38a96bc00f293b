import type { MqttClient } from 'mqtt';
import { type BrokerUrls, type Clock, connectBroker, type Logger, type Service, TOPIC_ROOT, TransitionLog, envelopeFilter, stateFilter } from '../../core/index.ts';
import type { Intake } from './intake.ts';

export interface ExternalSubscriberOptions {
  url: BrokerUrls;
  username?: string | undefined;
  password?: string | undefined;
  clientId: string;
  /** `leased`: the envelopes come through the shard sessions (server/cluster); this takes state and status only. */
  shards: 'all' | 'leased' | readonly number[];
  /**
   * A clean session, kept by nobody after it ends. Leased: this subscription carries only gateways'
   * state and status, which are retained (a new session gets the current ones), and a member id that
   * changes with every start would otherwise leave a queue behind on the broker for each past run.
   */
  clean?: boolean;
}

/**
 * Takes Envelopes from an existing broker (Mosquitto, EMQX) with a persistent session (clean=false),
 * so the broker queues QoS 1 messages while the server is away. MQTT.js sends each PUBACK only when
 * handleMessage calls back, which happens after the intake's durable write.
 */
export class ExternalSubscriber implements Service {
  readonly name = 'mqtt-subscriber';
  private client: MqttClient | undefined;
  private readonly link: TransitionLog;

  constructor(
    private readonly opts: ExternalSubscriberOptions,
    private readonly intake: Intake,
    private readonly log: Logger,
    clock: Clock,
  ) {
    this.link = new TransitionLog(log, clock, 'broker subscription');
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    const shards = this.opts.shards;
    const filters = shards === 'all' ? [envelopeFilter()] : shards === 'leased' ? [] : shards.map((s) => envelopeFilter(s));
    const { client, url } = connectBroker(this.opts.url, {
      clientId: this.opts.clientId,
      username: this.opts.username,
      password: this.opts.password,
      clean: this.opts.clean ?? false,
      // MQTT.js stops for good after a refused CONNACK unless told otherwise; credentials fixed on the
      // broker side must not need a restart here.
      reconnectOnConnackError: true,
      reconnectPeriod: 2000,
    });
    client.handleMessage = (packet, done) => {
      this.intake.accept(packet.topic, packet.payload as Buffer).then(
        () => done(),
        (err: unknown) => {
          // Never acknowledged: dropping the connection makes the broker deliver it again (persistent session).
          this.log.error({ err }, 'durable write failed; reconnecting for redelivery');
          client.stream.destroy();
        },
      );
    };
    client.on('connect', (connack) => {
      this.link.up({ url: url(), sessionPresent: connack.sessionPresent });
      client.subscribe([...filters, stateFilter(), `${TOPIC_ROOT}/+/+/+/status`], { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message }, 'subscribe failed');
      });
    });
    client.on('close', () => this.link.down('disconnected', { url: url() }));
    client.on('error', (err) => this.link.down(err.message, { url: url() }));
    this.client = client;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
