import type { MqttClient } from 'mqtt';
import { type BrokerUrls, type Logger, connectBroker, envelopeFilter } from '../../core/index.ts';

/** What takes a shard's messages: the intake (it calls back once the Envelope is durable). */
export interface MessageSink {
  accept(topic: string, payload: Buffer): Promise<void>;
}

export interface ShardSubscriberOptions {
  url: BrokerUrls;
  username?: string | undefined;
  password?: string | undefined;
  /** Sessions are named `<prefix>-shard-NN`: the session belongs to the shard, not to a server. */
  clientIdPrefix?: string;
  /** How long taking a shard waits for the broker before it goes on (the session comes up later). */
  subscribeTimeoutMs?: number;
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

  /** Resumes the shard's session and its subscription; resolves once the broker has accepted it, or after `subscribeTimeoutMs`. */
  async take(shard: number): Promise<void> {
    if (this.open.has(shard)) return;
    const { client } = connectBroker(this.opts.url, {
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
    const subscribed = new Promise<boolean>((resolve) => {
      // Subscribed again on every reconnect; a resumed session keeps it anyway.
      client.on('connect', () => {
        client.subscribe(envelopeFilter(shard), { qos: 1 }, (err) => {
          if (err) this.log.error({ shard, err: err.message }, 'shard subscription refused');
          resolve(!err);
        });
      });
    });
    // A broker that is down must not hold up the server's start: the session comes up when it is back.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([subscribed, new Promise<false>((r) => (timer = setTimeout(() => r(false), this.opts.subscribeTimeoutMs ?? 5000)))]);
    clearTimeout(timer);
    if (ok) this.log.info({ shard }, 'shard session resumed');
    else this.log.warn({ shard }, 'shard session not yet up; it resumes when the broker answers');
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
