import type * as SerialPortModule from 'serialport';
import type { SerialPort } from 'serialport';

// Loaded on first use, so a gateway without a serial line does not carry the library.
let serialport: typeof SerialPortModule | undefined;
import { Backoff, type Clock, type Logger, TransitionLog } from '../../core/index.ts';
import { READ_FC, type ReadAnswer, crcOk, parseReadResponse, readRequestPdu, responseDataBytes, rtuFrame } from './frames.ts';
import type { Table } from './profile.ts';
import { ModbusLinkError, type ModbusTransport } from './transport.ts';

export interface SerialOptions {
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

/**
 * Modbus RTU over a serial line: one request at a time, framed by address and CRC. The receiver never
 * trusts the byte stream: it looks for a frame from the addressed unit with the expected function code
 * and length and a valid CRC, and discards anything else byte by byte, so line noise or a reply that
 * arrives after its timeout cannot shift the next answer. After a timeout it waits a guard time and
 * flushes the input before the next request (Modbus over Serial Line v1.02, §2.5.1.1: frames are
 * separated by at least 3.5 character times of silence).
 */
export class RtuTransport implements ModbusTransport {
  readonly id: string;
  private port: SerialPort | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private pending: { resolve(frame: Buffer): void; match(buf: Buffer): number; } | undefined;
  private isOpen = false;
  private stopped = false;
  private guardUntil = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private readonly link: TransitionLog;
  /** 3.5 character times, at least 1.75 ms (the spec's fixed value above 19200 baud). */
  readonly interFrameMs: number;
  crcErrors = 0;
  /** The last error opening the port, for diagnostics. */
  lastError: string | undefined;
  discardedBytes = 0;

  constructor(
    private readonly opts: SerialOptions,
    log: Logger,
    clock: Clock,
  ) {
    this.id = `rtu://${opts.path}`;
    const bitsPerChar = 1 + opts.dataBits + (opts.parity === 'none' ? 0 : 1) + opts.stopBits;
    this.interFrameMs = opts.baudRate > 19_200 ? 1.75 : (3.5 * bitsPerChar * 1000) / opts.baudRate;
    this.link = new TransitionLog(log.child({ link: this.id }), clock, `serial line ${opts.path}`);
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /** Resolves once the port has opened or failed to (the first poll should not fail for nothing). */
  async start(): Promise<void> {
    if (!serialport) {
      const m = (await import('serialport')) as typeof SerialPortModule & { default?: typeof SerialPortModule };
      serialport = m.SerialPort ? m : m.default!;
    }
    await new Promise<void>((resolve) => this.open(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
  }

  private open(opened?: () => void): void {
    if (this.stopped) return opened?.();
    const port = new serialport!.SerialPort({ ...this.opts, autoOpen: false });
    this.port = port;
    port.on('data', (d: Buffer) => this.onData(d));
    port.on('close', () => {
      if (this.port !== port) return;
      this.isOpen = false;
      this.link.down('serial port closed');
      if (!this.stopped) this.reopenTimer = setTimeout(() => this.open(), this.backoff.next());
    });
    port.on('error', (err) => this.link.down(err.message));
    port.open((err) => {
      if (err) {
        this.lastError = err.message;
        this.link.down(err.message);
        if (!this.stopped) this.reopenTimer = setTimeout(() => this.open(), this.backoff.next());
        return opened?.();
      }
      this.isOpen = true;
      this.backoff.reset();
      this.link.up();
      opened?.();
    });
  }

  private onData(d: Buffer): void {
    this.rx = this.rx.length === 0 ? d : Buffer.concat([this.rx, d]);
    if (!this.pending) {
      // Nobody asked: a late reply or noise. Dropped now, so it can never answer a later request.
      this.discardedBytes += this.rx.length;
      this.rx = Buffer.alloc(0);
      return;
    }
    for (;;) {
      const n = this.pending.match(this.rx);
      if (n > 0) {
        const frame = this.rx.subarray(0, n);
        this.rx = this.rx.subarray(n);
        const p = this.pending;
        this.pending = undefined;
        p.resolve(Buffer.from(frame));
        return;
      }
      if (n === 0) return; // need more bytes
      // Not the start of a valid answer: drop one byte and look again.
      this.rx = this.rx.subarray(1);
      this.discardedBytes++;
      if (this.rx.length === 0) return;
    }
  }

  async read(unitId: number, table: Table, start: number, count: number, timeoutMs: number): Promise<ReadAnswer> {
    const port = this.port;
    if (!this.isOpen || !port) throw new ModbusLinkError('offline', `serial port ${this.opts.path} is not open`);
    const wait = this.guardUntil - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.discardedBytes += this.rx.length;
    this.rx = Buffer.alloc(0);
    const fc = READ_FC[table];
    const okLength = 5 + responseDataBytes(table, count);
    const frame = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.pending = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        // > 0: a whole valid frame of that length; 0: could still become one; < 0: cannot.
        match: (buf) => {
          if (buf[0] !== unitId) return -1;
          if (buf.length < 2) return 0;
          const len = buf[1] === fc ? okLength : buf[1] === (fc | 0x80) ? 5 : -1;
          if (len < 0) return -1;
          if (buf[1] === fc && buf.length >= 3 && buf[2] !== okLength - 5) return -1;
          if (buf.length < len) return 0;
          if (!crcOk(buf.subarray(0, len))) {
            this.crcErrors++;
            return -1;
          }
          return len;
        },
      };
      port.write(rtuFrame(unitId, readRequestPdu(table, start, count)));
    });
    if (!frame) {
      // RTU answers carry no transaction id, so a reply that comes after its timeout looks exactly like
      // the answer to an identical next request. Keep the line quiet for another full timeout and drop
      // whatever arrives meanwhile: replies up to twice the timeout late can never be misattributed.
      this.guardUntil = Date.now() + Math.max(20, timeoutMs);
      throw new ModbusLinkError('timeout', `no answer from unit ${unitId} within ${timeoutMs} ms`);
    }
    this.guardUntil = Date.now() + this.interFrameMs;
    const answer = parseReadResponse(table, count, frame.subarray(1, frame.length - 2));
    if (typeof answer === 'string') throw new ModbusLinkError('protocol', answer);
    return answer;
  }
}
