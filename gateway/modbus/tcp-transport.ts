import { Socket } from 'node:net';
import Modbus from 'jsmodbus';
import { Backoff, type Logger, TransitionLog, type Clock } from '../../core/index.ts';
import type { ReadAnswer } from './frames.ts';
import type { Table } from './profile.ts';
import { ModbusLinkError, type ModbusTransport } from './transport.ts';

type TcpClient = InstanceType<typeof Modbus.client.TCP>;

interface UserRequestErrorLike {
  err: string;
  message: string;
  response?: { body?: { code?: number } };
}

/**
 * Modbus TCP through jsmodbus. One socket per host:port; one jsmodbus client per unit id and timeout
 * on it (a TCP-to-RTU gateway serves several unit ids on one connection). A late answer to a read that
 * timed out shows up as a transaction id mismatch (jsmodbus `OutOfSync`); the socket is then replaced
 * at once, so the stream is clean again without a restart.
 */
export class TcpTransport implements ModbusTransport {
  readonly id: string;
  private socket: Socket | undefined;
  private clients = new Map<string, TcpClient>();
  private isConnected = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private readonly link: TransitionLog;
  desyncs = 0;
  /** The last connection error, for diagnostics. */
  lastError: string | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    log: Logger,
    clock: Clock,
  ) {
    this.id = `tcp://${host}:${port}`;
    this.link = new TransitionLog(log.child({ link: this.id }), clock, `Modbus link ${this.id}`);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Resolves once the first connection attempt has settled (either way, at most `waitMs`), so the first poll does not fail for nothing. */
  async start(waitMs = 3000): Promise<void> {
    this.connect();
    const socket = this.socket!;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        socket.off('connect', done);
        socket.off('close', done);
        resolve();
      };
      const t = setTimeout(done, waitMs);
      socket.once('connect', done);
      socket.once('close', done);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new Socket();
    this.socket = socket;
    this.clients = new Map();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.isConnected = true;
      this.backoff.reset();
      this.link.up();
    });
    socket.on('error', (err) => {
      this.lastError = err.message;
      this.link.down(err.message);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.isConnected = false;
      this.link.down('connection closed');
      if (!this.stopped) this.reconnectTimer = setTimeout(() => this.connect(), this.backoff.next());
    });
    socket.connect(this.port, this.host);
  }

  /** Drops the connection and opens a new one at once (not after backoff): the device itself is fine. */
  private reset(): void {
    const old = this.socket;
    this.socket = undefined;
    this.isConnected = false;
    old?.destroy();
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  private client(unitId: number, timeoutMs: number): TcpClient {
    const key = `${unitId}/${timeoutMs}`;
    let c = this.clients.get(key);
    if (!c) {
      const socket = this.socket!;
      const before = new Set(socket.listeners('data'));
      c = new Modbus.client.TCP(socket, unitId, timeoutMs);
      // jsmodbus parses answers inside its socket 'data' listener and throws there on some malformed
      // frames (an exception response with an unknown code), which would end the whole process. Its
      // listener runs guarded instead: such a frame renews the connection like any desync.
      for (const l of socket.listeners('data')) {
        if (before.has(l)) continue;
        socket.off('data', l as (d: Buffer) => void);
        socket.on('data', (d: Buffer) => {
          try {
            (l as (d: Buffer) => void)(d);
          } catch (err) {
            this.desyncs++;
            this.lastError = `malformed answer: ${(err as Error).message || 'unparseable frame'}`;
            if (this.socket === socket) this.reset();
          }
        });
      }
      // The socket is already connected when a client joins later; jsmodbus learns that from 'connect'.
      if (this.isConnected) (c as unknown as { _requestHandler: { _state: string } })._requestHandler._state = 'online';
      this.clients.set(key, c);
    }
    return c;
  }

  async read(unitId: number, table: Table, start: number, count: number, timeoutMs: number): Promise<ReadAnswer> {
    if (!this.isConnected || !this.socket) throw new ModbusLinkError('offline', `not connected to ${this.id}`);
    const c = this.client(unitId, timeoutMs);
    try {
      switch (table) {
        case 'holding':
          return { kind: 'data', data: Buffer.from((await c.readHoldingRegisters(start, count)).response.body.valuesAsBuffer) };
        case 'input':
          return { kind: 'data', data: Buffer.from((await c.readInputRegisters(start, count)).response.body.valuesAsBuffer) };
        case 'coil':
          return { kind: 'data', data: [...(await c.readCoils(start, count)).response.body.valuesAsArray].slice(0, count).map(Boolean) };
        case 'discrete':
          return { kind: 'data', data: [...(await c.readDiscreteInputs(start, count)).response.body.valuesAsArray].slice(0, count).map(Boolean) };
      }
    } catch (e) {
      const err = e as UserRequestErrorLike;
      switch (err.err) {
        case 'ModbusException':
          return { kind: 'exception', code: err.response?.body?.code ?? 0 };
        case 'Timeout':
          throw new ModbusLinkError('timeout', `no answer from unit ${unitId} within ${timeoutMs} ms`);
        case 'Offline':
          throw new ModbusLinkError('offline', err.message);
        case 'OutOfSync':
        case 'Protocol':
          this.desyncs++;
          this.reset();
          throw new ModbusLinkError('desync', `answer out of sequence on ${this.id} (${err.message}); connection renewed`);
        default:
          throw new ModbusLinkError('protocol', err.message ?? String(e));
      }
    }
  }
}
