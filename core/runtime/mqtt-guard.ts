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
 * Meters an MQTT connection's bytes as the broker reads them: a packet over its limit destroys the
 * socket at its header. Attach it after the broker has taken the socket: the broker reads in paused
 * mode (`readable` + `read()`), and a `data` listener then only watches, it does not start the flow.
 * The broker may already hold the chunk that carried the header; the connection ends before more.
 */
export function meterConnection(socket: Socket, limit: (packetIndex: number) => number, onRefused: (reason: string) => void): void {
  const meter = new MqttFrameMeter();
  const watch = (chunk: Buffer) => {
    const refused = meter.feed(chunk, limit);
    if (refused) {
      socket.off('data', watch);
      onRefused(refused);
      socket.destroy();
    }
  };
  socket.on('data', watch);
}
