import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { z } from 'zod';
import { RateLimiter } from './access.ts';
import type { Logger } from './logger.ts';
import { meterConnection } from './mqtt-guard.ts';
import type { Service } from './service.ts';
import { type BrokerTls, peerCommonName, readTlsFiles, watchTlsFiles } from './tls.ts';

/**
 * What a client may cost before and after it logs in. A CONNECT is small (ids, credentials, a will),
 * so a large first packet is refused at its header; so is any later packet over `maxPacketBytes`.
 */
export const BrokerLimitsSchema = z
  .strictObject({
    /** The largest CONNECT (the only packet a client may send before it is authenticated). */
    maxConnectBytes: z.number().int().min(256).max(1024 * 1024).default(16 * 1024),
    /** The largest packet of an authenticated client (default: what the process accepts as a message, plus room for the topic). */
    maxPacketBytes: z.number().int().min(1024).max(256 * 1024 * 1024).optional(),
    /** A connection that has not completed CONNECT by then is closed. */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Open connections from one address; more are closed at once. */
    maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(100),
    /** Failed logins an address may make per minute (bursts up to the same); then it is turned away. */
    failedLoginsPerMinute: z.number().int().min(1).max(100_000).default(30),
  })
  .prefault({});
export type BrokerLimits = z.infer<typeof BrokerLimitsSchema>;

export type BrokerRefusal = 'bad_certificate' | 'packet_too_large' | 'connect_timeout' | 'too_many_connections' | 'login_throttled' | 'bad_credentials' | 'client_id_in_use' | 'client_id_not_allowed';

export interface BrokerHooks<P> {
  /**
   * Who connects: a principal, or undefined to refuse with "not authorized" (CONNACK 5).
   * `certificateName` is the common name of a client certificate the TLS listener verified.
   */
  authenticate(username: string | undefined, password: string | undefined, clientId: string, certificateName: string | undefined): P | undefined | Promise<P | undefined>;
  /** Whether this principal may use this client id; refused with "identifier rejected" (CONNACK 2). */
  clientIdAllowed?(principal: P, clientId: string): boolean;
  /**
   * Called for every PUBLISH a client sends, before the broker acknowledges it (aedes sends the QoS 1
   * PUBACK only after this resolves), which is what lets a durable write happen before the ack.
   * `deny` disconnects the client: use it for a breach of the ACL, not for a bad payload.
   */
  onPublish(principal: P, packet: PublishPacket, clientId: string): Promise<'accept' | 'deny'> | 'accept' | 'deny';
  authorizeSubscribe(principal: P, topic: string): boolean;
}

export interface EmbeddedBrokerOptions<P> {
  host: string;
  port: number;
  /** false: no plain listener, only the TLS one. */
  plain?: boolean;
  tls?: BrokerTls | undefined;
  log: Logger;
  hooks: BrokerHooks<P>;
  limits?: Partial<BrokerLimits>;
  /** The largest message payload the hooks accept; packets may be twice that (at least 1 MiB) plus 64 KiB unless limits say otherwise. */
  maxPayloadBytes?: number;
  now?: () => number;
  /** Every connection turned away, with its reason (for a counter). */
  onRefused?(reason: BrokerRefusal): void;
}

/**
 * An aedes broker on a plain TCP listener, a TLS listener, or both. Lifecycle: start() listens;
 * stop() disconnects clients and closes.
 */
export class EmbeddedBroker<P> implements Service {
  readonly name = 'mqtt-broker';
  private aedes: Aedes | undefined;
  private servers: Server[] = [];
  private readonly principals = new WeakMap<Client, P>();
  private boundPort = 0;
  private boundTlsPort = 0;
  private unwatch: (() => void) | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: EmbeddedBrokerOptions<P>) {}

  /** The plain listener's port (0 when there is none). */
  get port(): number {
    return this.boundPort;
  }

  /** The TLS listener's port (0 when there is none). */
  get tlsPort(): number {
    return this.boundTlsPort;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { hooks, log } = this.opts;
    const limits = BrokerLimitsSchema.parse(this.opts.limits ?? {});
    // After login, a message somewhat over the payload limit still arrives, so the hooks refuse it with
    // its reason and acknowledge it; only a packet far beyond closes the connection (a client would
    // otherwise resend an oversized message forever).
    const maxPacketBytes = limits.maxPacketBytes ?? Math.max(1024 * 1024, 2 * (this.opts.maxPayloadBytes ?? 0)) + 64 * 1024;
    const now = this.opts.now ?? Date.now;
    const failures = new RateLimiter(limits.failedLoginsPerMinute);
    const refuse = (reason: BrokerRefusal, detail: Record<string, unknown>) => {
      this.opts.onRefused?.(reason);
      log.debug({ reason, ...detail }, 'MQTT connection refused');
    };
    const aedes = new Aedes({
      connectTimeout: limits.connectTimeoutMs,
      authenticate: (client, username, password, done) => {
        const socket = client.conn as Socket;
        const address = socket.remoteAddress ?? 'unknown';
        const fail = (reason: BrokerRefusal, returnCode: 2 | 3 | 5) => {
          refuse(reason, { clientId: client.id, username, address });
          done(Object.assign(new Error(reason), { returnCode }), false);
        };
        if (failures.waitFor(`fail@${address}`, now()) > 0) return fail('login_throttled', 5);
        const certificateName = 'encrypted' in socket ? peerCommonName(socket as TLSSocket) : undefined;
        Promise.resolve(hooks.authenticate(username, password?.toString('utf8'), client.id, certificateName))
          .then((p) => {
            if (p === undefined) {
              failures.take(`fail@${address}`, now());
              log.warn({ clientId: client.id, username, address }, 'MQTT connection refused: bad credentials');
              return fail('bad_credentials', 5);
            }
            if (hooks.clientIdAllowed && !hooks.clientIdAllowed(p, client.id)) return fail('client_id_not_allowed', 2);
            // MQTT 3.1.1 §3.1.4 says a second CONNECT with a connected client's id takes its place. That
            // lets one holder of an id keep another offline, and two instances of one gateway flap each
            // other forever; the connected client keeps its id until it leaves or its keepalive lapses.
            const current = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
            if (current && current !== client && !current.closed) return fail('client_id_in_use', 2);
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
        Promise.resolve(hooks.onPublish(principal, packet, client.id))
          .then((verdict) => done(verdict === 'accept' ? null : new Error('publish not allowed')))
          .catch((err: unknown) => {
            // A failed durable write: refuse (the client keeps the message and resends it).
            log.error({ err, topic: packet.topic }, 'publish handling failed; message not acknowledged');
            done(err instanceof Error ? err : new Error(String(err)));
          });
      },
      authorizeSubscribe: (client, sub, done) => {
        const principal = this.principals.get(client);
        if (principal === undefined) return done(new Error('unauthenticated'));
        // A refused filter is answered with failure 0x80 in the SUBACK (§3.9.3); the client stays.
        if (!hooks.authorizeSubscribe(principal, sub.topic)) return done(null, null);
        done(null, sub);
      },
    });
    await aedes.listen();
    aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
    this.aedes = aedes;
    const perAddress = new Map<string, number>();
    // Admission on the raw connection, before any TLS handshake or MQTT byte costs anything.
    const admit = (socket: Socket): boolean => {
      const address = socket.remoteAddress ?? 'unknown';
      const open = perAddress.get(address) ?? 0;
      if (open >= limits.maxConnectionsPerAddress) {
        refuse('too_many_connections', { address });
        socket.destroy();
        return false;
      }
      if (failures.waitFor(`fail@${address}`, now()) > 0) {
        refuse('login_throttled', { address });
        socket.destroy();
        return false;
      }
      perAddress.set(address, open + 1);
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        const n = (perAddress.get(address) ?? 1) - 1;
        if (n > 0) perAddress.set(address, n);
        else perAddress.delete(address);
      });
      return true;
    };
    const serve = (socket: Socket) => {
      const client = aedes.handle(socket);
      // Until the client has logged in, the small limit holds.
      meterConnection(
        socket,
        (i) => (i === 0 || !this.principals.has(client) ? limits.maxConnectBytes : maxPacketBytes),
        (reason) => refuse('packet_too_large', { address: socket.remoteAddress, clientId: client.id, detail: reason }),
      );
    };
    if (this.opts.plain !== false) {
      const server = createServer((socket) => {
        if (admit(socket)) serve(socket);
      });
      this.boundPort = await listen(server, this.opts.port, this.opts.host);
      this.servers.push(server);
    }
    const tls = this.opts.tls;
    if (tls) {
      const server: TlsServer = createTlsServer({
        ...readTlsFiles(tls),
        // Ask for a certificate whenever a CA is configured: presenting one is a way to log in.
        requestCert: tls.ca !== undefined,
        rejectUnauthorized: tls.requireClientCert,
        handshakeTimeout: limits.connectTimeoutMs,
      });
      server.on('connection', (socket: Socket) => void admit(socket));
      server.on('secureConnection', (socket: TLSSocket) => {
        // A certificate that does not verify (another CA, expired) is refused, not ignored in favour of a password.
        const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
        if (presented && !socket.authorized) {
          refuse('bad_certificate', { address: socket.remoteAddress, detail: socket.authorizationError?.toString() });
          return socket.destroy();
        }
        serve(socket);
      });
      server.on('tlsClientError', (err, socket) => {
        log.debug({ err: err.message, address: socket.remoteAddress }, 'TLS handshake failed');
        socket.destroy();
      });
      this.boundTlsPort = await listen(server, tls.port, this.opts.host);
      this.servers.push(server);
      this.unwatch = watchTlsFiles(tls, (ctx) => server.setSecureContext(ctx), log);
    }
    log.info({ host: this.opts.host, port: this.boundPort || undefined, tlsPort: this.boundTlsPort || undefined }, 'MQTT broker listening');
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    const aedes = this.aedes;
    this.servers = [];
    this.aedes = undefined;
    this.unwatch?.();
    // server.close() only completes once every connection has ended, which aedes.close() brings about.
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const c of this.sockets) c.destroy();
    await closed;
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return addr && typeof addr === 'object' ? addr.port : port;
}
