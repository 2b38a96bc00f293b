import { describe, expect, it } from 'vitest';
import { fixedHeader } from '../../test/helpers/mqtt-frames.ts';
import { MqttFrameMeter } from './mqtt-guard.ts';

const frame = (type: number, body: number): Buffer => Buffer.concat([fixedHeader(type, body), Buffer.alloc(body, 7)]);

describe('MqttFrameMeter', () => {
  const limit = (i: number) => (i === 0 ? 100 : 10_000);

  it('passes packets within limits however the stream is cut', () => {
    const stream = Buffer.concat([frame(1, 90), frame(3, 9_000), frame(12, 0), frame(3, 128), frame(3, 10_000)]);
    for (const cut of [1, 2, 3, 7, 100, 4096, stream.length]) {
      const m = new MqttFrameMeter();
      let refused: string | undefined;
      for (let i = 0; i < stream.length && !refused; i += cut) refused = m.feed(stream.subarray(i, i + cut), limit);
      expect(refused, `cut ${cut}`).toBeUndefined();
      expect(m.packets).toBe(5);
    }
  });

  it('refuses a first packet over the pre-login limit at its header', () => {
    const m = new MqttFrameMeter();
    expect(m.feed(frame(1, 101).subarray(0, 3), limit)).toMatch(/101 bytes exceeds 100/);
  });

  it('refuses a later packet over the packet limit, and a length of more than four bytes', () => {
    const m = new MqttFrameMeter();
    expect(m.feed(Buffer.concat([frame(1, 10), frame(3, 10_001)]), limit)).toMatch(/exceeds 10000/);
    expect(new MqttFrameMeter().feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), () => Infinity)).toMatch(/malformed/);
  });
});
