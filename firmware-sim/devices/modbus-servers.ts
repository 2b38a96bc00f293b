import { createServer, type Server, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import { crcOk, mbapFrame, rtuFrame } from '../../gateway/modbus/index.ts';
import type { SimSlave } from './modbus-slave.ts';

/**
 * Simulated Modbus TCP devices: one listener, any number of unit ids behind it (a plain device or a
 * TCP-to-RTU gateway). Faults beyond the slaves' own: dropping every connection, restarting (the
 * port closes and opens again), and answering once with a stale transaction id (a desync).
 */
export class ModbusTcpSimServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly slaves = new Map<number, SimSlave>();
  port = 0;
  /** Answers the next request with the previous transaction id, as a confused gateway does. */
  staleOnce = false;
  requests = 0;

  constructor(slaves: SimSlave[], private readonly host = '127.0.0.1') {
    for (const s of slaves) this.slaves.set(s.unitId, s);
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    this.port = a && typeof a === 'object' ? a.port : port;
    return this;
  }

  async stop(): Promise<void> {
    this.disconnectAll();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Closes the listener and every connection, and listens again on the same port after `downMs`. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start(this.port);
  }

  disconnectAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let lastTx = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (buf.length < 6 + len) return;
        const tx = buf.readUInt16BE(0);
        const unit = buf[6]!;
        const pdu = buf.subarray(7, 6 + len);
        buf = buf.subarray(6 + len);
        this.requests++;
        const slave = this.slaves.get(unit) ?? (this.slaves.size === 1 ? [...this.slaves.values()][0] : undefined);
        const a = slave?.answer(Buffer.from(pdu));
        if (!a) continue;
        const replyTx = this.staleOnce ? lastTx : tx;
        this.staleOnce = false;
        lastTx = tx;
        const frame = mbapFrame(replyTx, unit, a.pdu);
        if (a.delayMs > 0) setTimeout(() => !socket.destroyed && socket.write(frame), a.delayMs);
        else socket.write(frame);
      }
    });
  }
}

/**
 * Simulated RTU slaves sharing one serial line (one end of a socat pair): requests are recognised by
 * unit id and CRC, and only the addressed slave answers, as on RS-485. `noise` bytes can be sent
 * before an answer to test the master's resynchronisation.
 */
export class ModbusRtuSimBus {
  private port: SerialPort | undefined;
  private readonly slaves = new Map<number, SimSlave>();
  /** Bytes of line noise to send before each answer. */
  noise = 0;

  constructor(
    private readonly path: string,
    private readonly baudRate: number,
    slaves: SimSlave[],
  ) {
    for (const s of slaves) this.slaves.set(s.unitId, s);
  }

  async start(): Promise<this> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    // An answer written just as the line closes fails with EBADF on the port, not at the write: a
    // simulated device going away mid-answer is normal here, and must not bring its process down.
    port.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    port.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Read requests are always 8 bytes: unit, fc, start (2), count (2), CRC (2).
      while (buf.length >= 8) {
        const frame = buf.subarray(0, 8);
        if (!crcOk(frame)) {
          buf = buf.subarray(1);
          continue;
        }
        buf = buf.subarray(8);
        const slave = this.slaves.get(frame[0]!);
        const a = slave?.answer(Buffer.from(frame.subarray(1, 6)));
        if (!slave || !a) continue;
        const out = Buffer.concat([Buffer.from(Array.from({ length: this.noise }, (_, i) => (i * 37 + 11) & 0xff)), rtuFrame(slave.unitId, a.pdu)]);
        setTimeout(() => this.port?.isOpen && this.port.write(out), a.delayMs + 1);
      }
    });
    return this;
  }

  async stop(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
  }
}
