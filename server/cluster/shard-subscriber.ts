import { connect, type MqttClient } from 'mqtt';
import { type Logger, TOPIC_ROOT } from '../../core/index.ts';

/** What takes a shard's messages: the intake (it calls back once the Envelope is durable). */
export interface MessageSink {
  accept(topic: string, payload: Buffer): Promise<void>;
}

export interface ShardSubscriberOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Sessions are named `<prefix>-shard-NN`: the session belongs to the shard, not to a server. */
  clientIdPrefix?: string;
}

/** The broker session of one shard: its client id, shared by whichever server owns the shard. */
export function shardClientId(prefix: string, shard: number): string {
  return `${prefix}-shard-${String(shard).padStart(2, '0')}`;
}

interface Open {
  client: MqttClient;
  /** Messages taken but not yet durable (their PUBACK not sent). */
  inFlight: Set<Promise<void>>;
}

/**
 * Takes the messages of the shards this server owns, each through the shard's own persistent session
 * (clean session off). While nobody owns a shard the broker keeps its QoS 1 messages in that session;
 * the next owner resumes it under the same client id and receives them. A message is acknowledged only
 * after the sink has made it durable, so one that was in flight when its owner died is delivered again
 * to the next owner (and recognised there by its `(gatewayId, bootId, seq)`).
 */
export class ShardSubscriber {
  private readonly open = new Map<number, Open>();
  private readonly prefix: string;

  constructor(
    private readonly opts: ShardSubscriberOptions,
    private readonly sink: MessageSink,
    private readonly log: Logger,
  ) {
    this.prefix = opts.clientIdPrefix ?? 'vigil';
  }

  /** The shards with an open session. */
  shards(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  /** Resumes the shard's session and its subscription; resolves once the broker has accepted the subscription. */
  async take(shard: number): Promise<void> {
    if (this.open.has(shard)) return;
    const client = connect(this.opts.url, {
      clientId: shardClientId(this.prefix, shard),
      username: this.opts.username,
      password: this.opts.password,
      clean: false,
      reconnectOnConnackError: true,
      reconnectPeriod: 1000,
    });
    const entry: Open = { client, inFlight: new Set() };
    this.open.set(shard, entry);
    client.handleMessage = (packet, done) => {
      const p = this.sink.accept(packet.topic, packet.payload as Buffer);
      entry.inFlight.add(p);
      p.then(
        () => {
          entry.inFlight.delete(p);
          done();
        },
        (err: unknown) => {
          entry.inFlight.delete(p);
          // Never acknowledged: a dropped connection makes the broker deliver it again.
          this.log.error({ err, shard }, 'durable write failed; reconnecting for redelivery');
          client.stream.destroy();
        },
      );
    };
    client.on('error', (err) => this.log.warn({ shard, err: err.message }, 'shard session error'));
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.subscribe(`${TOPIC_ROOT}/${shard}/+/+/+`, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      };
      // Subscribed again on every reconnect; a resumed session keeps it anyway.
      client.on('connect', onConnect);
    });
    this.log.info({ shard }, 'shard session resumed');
  }

  /**
   * Hands the shard back: waits for what is in flight to become durable and be acknowledged, then closes
   * the session without ending it, so the broker keeps queueing for the next owner.
   */
  async release(shard: number): Promise<void> {
    const entry = this.open.get(shard);
    if (!entry) return;
    this.open.delete(shard);
    await Promise.allSettled([...entry.inFlight]);
    await entry.client.endAsync();
  }

  /** The lease is gone and another server may already own the shard: drop the connection at once, acknowledging nothing more. */
  async drop(shard: number): Promise<void> {
    const entry = this.open.get(shard);
    if (!entry) return;
    this.open.delete(shard);
    await entry.client.endAsync(true);
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards().map((s) => this.release(s)));
  }
}
