import { Socket } from 'node:net';
import { Backoff, type Logger, TransitionLog, type Clock } from '../../core/index.ts';
import { type ReadAnswer, mbapReadRequest, parseReadResponse } from './frames.ts';
import type { Table } from './profile.ts';
import { ModbusLinkError, type ModbusTransport } from './transport.ts';

interface Waiting {
  tid: number;
  unitId: number;
  table: Table;
  count: number;
  timer: NodeJS.Timeout;
  resolve(a: ReadAnswer): void;
  reject(e: Error): void;
}

/**
 * Modbus TCP (Modbus Messaging on TCP/IP Implementation Guide v1.0b): one socket per host:port, which
 * may serve several unit ids (a TCP-to-RTU gateway), one request in flight on it (the Bus sees to
 * that). Answers are framed by their MBAP header and matched by transaction id. An answer with another
 * transaction id (a late reply to a read that timed out, or a confused device) means the stream can
 * no longer be trusted: the socket is replaced at once, so it is clean again without a restart.
 *
 * The framing is done here rather than by a library: this is the poll hot path, and parsing each
 * chunk once without exceptions for incomplete frames halves its CPU.
 */
export class TcpTransport implements ModbusTransport {
  readonly id: string;
  private socket: Socket | undefined;
  private isConnected = false;
  private waiting: Waiting | undefined;
  private nextTid = 0;
  private lastResetAt = 0;
  /** Bytes of an answer that has not fully arrived. */
  private pending: Buffer | undefined;
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
    this.fail(new ModbusLinkError('offline', `link ${this.id} stopped`));
    this.socket?.destroy();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new Socket();
    this.socket = socket;
    this.pending = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('connect', () => {
      this.isConnected = true;
      this.link.up();
    });
    socket.on('error', (err) => {
      this.lastError = err.message;
      this.link.down(err.message);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.isConnected = false;
      this.fail(new ModbusLinkError('offline', `connection to ${this.id} closed`));
      this.link.down('connection closed');
      if (!this.stopped) this.reconnectTimer = setTimeout(() => this.connect(), this.backoff.next());
    });
    socket.connect(this.port, this.host);
  }

  /**
   * Drops the connection and opens a new one: at once after a single desync (the device itself is
   * fine), after backoff when they come within a second of each other, so a device (or anything on
   * its port) that answers every connection with garbage cannot hold the gateway in a reconnect loop.
   */
  private reset(): void {
    const old = this.socket;
    this.socket = undefined;
    this.isConnected = false;
    this.pending = undefined;
    old?.destroy();
    clearTimeout(this.reconnectTimer);
    const now = Date.now();
    const again = now - this.lastResetAt < 1000;
    this.lastResetAt = now;
    if (again) this.reconnectTimer = setTimeout(() => this.connect(), this.backoff.next());
    else this.connect();
  }

  private fail(err: Error): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    clearTimeout(w.timer);
    w.reject(err);
  }

  private desync(why: string): void {
    this.desyncs++;
    this.lastError = why;
    this.fail(new ModbusLinkError('desync', `${why} on ${this.id}; connection renewed`));
    this.reset();
  }

  /** Splits the byte stream into MBAP frames; keeps an incomplete tail for the next chunk. */
  private onData(chunk: Buffer): void {
    const socket = this.socket;
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buf.length >= 7) {
      const length = buf.readUInt16BE(4);
      if (buf.readUInt16BE(2) !== 0 || length < 2 || length > 254) return this.desync('not a Modbus TCP frame');
      const total = 6 + length;
      if (buf.length < total) break;
      this.onFrame(buf.readUInt16BE(0), buf[6]!, buf.subarray(7, total));
      if (this.socket !== socket) return; // the frame made us renew the connection
      buf = buf.subarray(total);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private onFrame(tid: number, unitId: number, pdu: Buffer): void {
    const w = this.waiting;
    if (!w || tid !== w.tid) return this.desync(`answer with transaction id ${tid} while ${w ? `waiting for ${w.tid}` : 'nothing was asked'}`);
    this.waiting = undefined;
    clearTimeout(w.timer);
    // The link works once a device answers in order, not merely when TCP connects.
    this.backoff.reset();
    if (unitId !== w.unitId) return w.reject(new ModbusLinkError('protocol', `answer from unit ${unitId} to a read of unit ${w.unitId}`));
    const answer = parseReadResponse(w.table, w.count, pdu);
    if (typeof answer === 'string') return w.reject(new ModbusLinkError('protocol', `malformed answer from unit ${unitId}: ${answer}`));
    w.resolve(answer);
  }

  read(unitId: number, table: Table, start: number, count: number, timeoutMs: number): Promise<ReadAnswer> {
    const socket = this.socket;
    if (!this.isConnected || !socket) return Promise.reject(new ModbusLinkError('offline', `not connected to ${this.id}`));
    if (this.waiting) return Promise.reject(new ModbusLinkError('protocol', `a read is already waiting on ${this.id}`));
    this.nextTid = (this.nextTid + 1) & 0xffff;
    const tid = this.nextTid;
    return new Promise<ReadAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiting?.tid !== tid) return;
        this.waiting = undefined;
        reject(new ModbusLinkError('timeout', `no answer from unit ${unitId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = { tid, unitId, table, count, timer, resolve, reject };
      socket.write(mbapReadRequest(tid, unitId, table, start, count));
    });
  }
}
