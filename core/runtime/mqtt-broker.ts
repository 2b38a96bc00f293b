import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from './logger.ts';
import type { Service } from './service.ts';

export interface BrokerHooks<P> {
  /** Who connects: a principal, or undefined to refuse with "not authorized" (CONNACK 5). */
  authenticate(username: string | undefined, password: string | undefined, clientId: string): P | undefined | Promise<P | undefined>;
  /**
   * Called for every PUBLISH a client sends, before the broker acknowledges it (aedes sends the QoS 1
   * PUBACK only after this resolves), which is what lets a durable write happen before the ack.
   * `deny` disconnects the client: use it for a breach of the ACL, not for a bad payload.
   */
  onPublish(principal: P, packet: PublishPacket): Promise<'accept' | 'deny'> | 'accept' | 'deny';
  authorizeSubscribe(principal: P, topic: string): boolean;
}

export interface EmbeddedBrokerOptions<P> {
  host: string;
  port: number;
  log: Logger;
  hooks: BrokerHooks<P>;
}

/** An aedes broker on a TCP listener. Lifecycle: start() listens; stop() disconnects clients and closes. */
export class EmbeddedBroker<P> implements Service {
  readonly name = 'mqtt-broker';
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly principals = new WeakMap<Client, P>();
  private boundPort = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: EmbeddedBrokerOptions<P>) {}

  get port(): number {
    return this.boundPort;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { hooks, log } = this.opts;
    const aedes = new Aedes({
      authenticate: (client, username, password, done) => {
        Promise.resolve(hooks.authenticate(username, password?.toString('utf8'), client.id))
          .then((p) => {
            if (p === undefined) {
              log.warn({ clientId: client.id, username }, 'MQTT connection refused: bad credentials');
              const err = Object.assign(new Error('not authorized'), { returnCode: 5 as const });
              return done(err, false);
            }
            this.principals.set(client, p);
            done(null, true);
          })
          .catch((err: unknown) => done(Object.assign(new Error(String(err)), { returnCode: 3 as const }), false));
      },
      authorizePublish: (client, packet, done) => {
        // client is null only for a will published after its client is gone; wills passed the ACL
        // when they were set at CONNECT.
        const principal = client ? this.principals.get(client) : undefined;
        if (!client || principal === undefined) return done(client ? new Error('unauthenticated') : null);
        Promise.resolve(hooks.onPublish(principal, packet))
          .then((verdict) => done(verdict === 'accept' ? null : new Error('publish not allowed')))
          .catch((err: unknown) => {
            // A failed durable write: refuse (the client keeps the message and resends it).
            log.error({ err, topic: packet.topic }, 'publish handling failed; message not acknowledged');
            done(err instanceof Error ? err : new Error(String(err)));
          });
      },
      authorizeSubscribe: (client, sub, done) => {
        const principal = this.principals.get(client);
        if (principal === undefined || !hooks.authorizeSubscribe(principal, sub.topic)) return done(new Error('subscribe not allowed'));
        done(null, sub);
      },
    });
    await aedes.listen();
    aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
    this.aedes = aedes;
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    this.boundPort = addr && typeof addr === 'object' ? addr.port : this.opts.port;
    log.info({ host: this.opts.host, port: this.boundPort }, 'MQTT broker listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    // server.close() only completes once every connection has ended, which aedes.close() brings about.
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const c of this.sockets) c.destroy();
    await closed;
  }
}
