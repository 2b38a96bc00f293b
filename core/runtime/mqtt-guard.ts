import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * Reads MQTT fixed headers as bytes go by (MQTT 3.1.1 §2.2: one type byte, then the remaining length
 * as a variable byte integer of up to four bytes) and skips bodies by arithmetic, so it can refuse a
 * packet from its header alone, before the broker's parser buffers a byte of the body.
 */
export class MqttFrameMeter {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;
  /** Packets whose header was complete; the first is the CONNECT (§3.1: the first packet). */
  packets = 0;

  /** Feeds bytes; returns a reason when a packet breaks `limit(packetIndex)` or its header is malformed. */
  feed(chunk: Buffer, limit: (packetIndex: number) => number): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const n = Math.min(this.left, chunk.length - i);
        this.left -= n;
        i += n;
        if (this.left === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (++this.lengthBytes > 4) return 'malformed remaining length';
      if (byte & 0x80) continue;
      const max = limit(this.packets++);
      if (this.length > max) return `packet of ${this.length} bytes exceeds ${max}`;
      this.left = this.length;
      this.state = this.left > 0 ? 'body' : 'type';
    }
    return undefined;
  }
}

/**
 * The socket as the broker sees it, with a {@link MqttFrameMeter} in the read path: a packet over its
 * limit closes the connection at its header. Backpressure passes through (the socket pauses while the
 * broker has not read).
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string;
  private readonly meter = new MqttFrameMeter();

  constructor(
    private readonly socket: Socket,
    limit: (packetIndex: number) => number,
    onRefused: (reason: string) => void,
    /** The verified client certificate's common name, on a TLS listener. */
    readonly certificateName?: string,
  ) {
    super();
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    socket.on('data', (chunk: Buffer) => {
      const refused = this.meter.feed(chunk, limit);
      if (refused) {
        onRefused(refused);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.destroyed) return done();
    this.socket.write(chunk, (err) => done(err ?? null));
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
