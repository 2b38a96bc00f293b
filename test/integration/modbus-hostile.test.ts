import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, systemClock } from '../../core/index.ts';
import { mbapFrame } from '../../gateway/modbus/frames.ts';
import { TcpTransport } from '../../gateway/modbus/tcp-transport.ts';

// Found by the fuzz drill: the Modbus library once used here threw inside its socket listener on an
// exception response with a code it did not know, which ended the gateway process.
describe('Modbus TCP against a hostile slave', () => {
  let slave: Server | undefined;
  let t: TcpTransport | undefined;
  afterEach(async () => {
    await t?.stop();
    await new Promise<void>((r) => (slave ? slave.close(() => r()) : r()));
  });

  it('takes an exception code outside the spec as an exception, and reads on', async () => {
    let n = 0;
    slave = createServer((sock) => {
      sock.on('data', (req) => {
        const tid = req.readUInt16BE(0);
        // First an exception with code 7 (not in the spec's list), then a proper answer of 1 register.
        sock.write(mbapFrame(tid, req[6]!, n++ === 0 ? Buffer.from([0x83, 0x07]) : Buffer.from([0x03, 0x02, 0x01, 0x02])));
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => slave!.listen(0, '127.0.0.1', () => r()));
    t = new TcpTransport('127.0.0.1', (slave.address() as { port: number }).port, silentLogger(), systemClock);
    await t.start();
    expect(await t.read(1, 'holding', 0, 1, 300)).toEqual({ kind: 'exception', code: 7 });
    expect(await t.read(1, 'holding', 0, 1, 1000)).toEqual({ kind: 'data', data: Buffer.from([1, 2]) });
    expect(t.desyncs).toBe(0);
  });

  it('renews the connection on garbage and on an answer to another transaction, and reads again', async () => {
    let n = 0;
    slave = createServer((sock) => {
      sock.on('data', (req) => {
        const tid = req.readUInt16BE(0);
        const k = n++;
        // 1: bytes that are not an MBAP frame; 2: the answer under another transaction id; then proper answers.
        if (k === 0) sock.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
        else if (k === 1) sock.write(mbapFrame((tid + 7) & 0xffff, req[6]!, Buffer.from([0x03, 0x02, 0x09, 0x09])));
        else sock.write(mbapFrame(tid, req[6]!, Buffer.from([0x03, 0x02, 0x01, 0x02])));
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => slave!.listen(0, '127.0.0.1', () => r()));
    t = new TcpTransport('127.0.0.1', (slave.address() as { port: number }).port, silentLogger(), systemClock);
    await t.start();
    const connected = async () => {
      const deadline = Date.now() + 5000;
      while (!t!.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    await expect(t.read(1, 'holding', 0, 1, 1000)).rejects.toMatchObject({ failure: 'desync' });
    await connected();
    await expect(t.read(1, 'holding', 0, 1, 1000)).rejects.toMatchObject({ failure: 'desync' });
    await connected();
    expect(await t.read(1, 'holding', 0, 1, 1000)).toEqual({ kind: 'data', data: Buffer.from([1, 2]) });
    expect(t.desyncs).toBe(2);
  });

  it('does not reconnect in a tight loop to a port that answers every connection with garbage', async () => {
    let connections = 0;
    slave = createServer((sock) => {
      connections++;
      sock.write(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
      sock.on('data', () => sock.write(Buffer.alloc(64, 0xff)));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => slave!.listen(0, '127.0.0.1', () => r()));
    t = new TcpTransport('127.0.0.1', (slave.address() as { port: number }).port, silentLogger(), systemClock);
    await t.start();
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      await t.read(1, 'holding', 0, 1, 200).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
    // At once after the first desync, then with backoff (500 ms, doubling): a handful in 3 s, not hundreds.
    expect(t.desyncs).toBeGreaterThanOrEqual(2);
    expect(connections).toBeLessThanOrEqual(8);
  });
});
