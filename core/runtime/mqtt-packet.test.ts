import mqttPacket from 'mqtt-packet';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dropPacketIdCache } from './mqtt-packet.ts';

describe('dropPacketIdCache', () => {
  it('turns the packet-id cache off, and packets keep the same bytes', async () => {
    const packet = { cmd: 'publish', topic: 't/x', payload: Buffer.from('hi'), qos: 1, messageId: 0x1234, retain: false, dup: false } as const;
    const cached = mqttPacket.generate(packet);
    dropPacketIdCache();
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    mqttPacket.writeToStream(packet, out);
    // The writer corks the stream and uncorks it on the next tick.
    await new Promise((r) => setImmediate(r));
    const written = Buffer.concat(chunks);
    expect(written).toEqual(cached);
    // The id is on the wire, big-endian, after the topic.
    expect(written.subarray(2 + 2 + 3, 2 + 2 + 3 + 2)).toEqual(Buffer.from([0x12, 0x34]));
    mqttPacket.writeToStream.cacheNumbers = true;
  });
});
