import { describe, expect, it } from 'vitest';
import { EnvelopeSchema, type Reading } from '../../core/index.ts';
import type { Outbox, OverflowPolicy } from '../../gateway/outbox/index.ts';

export interface OutboxFactory {
  create(opts?: { maxReadings?: number; overflow?: OverflowPolicy }): Outbox;
  /** Closes and reopens the same store, when the implementation is durable. */
  reopen?(outbox: Outbox): Outbox;
}

const header = { site: 'plant-a', gatewayId: 'gw-1', bootId: 'boot-1' };
const T0 = Date.UTC(2026, 5, 1);

function readings(n: number, from = 0, deviceId = 'pump-1'): Reading[] {
  return Array.from({ length: n }, (_, i) => ({ deviceId, metric: 'vibration_rms', value: from + i, ts: T0 + from + i }));
}

function values(payload: string): number[] {
  const env = EnvelopeSchema.parse(JSON.parse(payload));
  return env.readings.map((r) => (r as Reading).value);
}

/** The behaviour every Outbox implementation promises (see gateway/outbox/types.ts). */
export function outboxContract(name: string, factory: OutboxFactory): void {
  describe(`Outbox contract: ${name}`, () => {
    it('seals appended readings oldest first into valid Envelopes with increasing seq', async () => {
      const ob = factory.create();
      await ob.append(readings(3, 0), T0);
      await ob.append(readings(2, 3), T0);
      const a = ob.seal(header, 3, T0 + 5)!;
      const b = ob.seal(header, 3, T0 + 6)!;
      expect(ob.seal(header, 3, T0 + 7)).toBeUndefined();
      expect([a.seq, b.seq]).toEqual([0, 1]);
      expect(values(a.payload)).toEqual([0, 1, 2]);
      expect(values(b.payload)).toEqual([3, 4]);
      expect(JSON.parse(a.payload)).toMatchObject({ v: 1, site: 'plant-a', gatewayId: 'gw-1', bootId: 'boot-1', seq: 0, sentAt: T0 + 5 });
      ob.close();
    });

    it('never splits one append, and takes at least one even when it is larger than the limit', async () => {
      const ob = factory.create();
      await ob.append(readings(4, 0), T0);
      await ob.append(readings(4, 4), T0);
      const a = ob.seal(header, 6, T0)!;
      expect(a.readingCount).toBe(4);
      const b = ob.seal(header, 2, T0)!;
      expect(b.readingCount).toBe(4);
      ob.close();
    });

    it('keeps sealed envelopes until acknowledged, and lists them after a cursor', async () => {
      const ob = factory.create();
      for (let i = 0; i < 3; i++) {
        await ob.append(readings(1, i), T0);
        ob.seal(header, 10, T0);
      }
      const all = ob.sealed(0, 10);
      expect(all.map((e) => e.seq)).toEqual([0, 1, 2]);
      expect(ob.sealed(all[0]!.id, 10).map((e) => e.seq)).toEqual([1, 2]);
      ob.ack(all[1]!.id);
      expect(ob.sealed(0, 10).map((e) => e.seq)).toEqual([0, 2]);
      expect(ob.stats()).toMatchObject({ pendingReadings: 0, sealedEnvelopes: 2, sealedReadings: 2, oldestTs: T0 });
      ob.ack(all[0]!.id);
      ob.ack(all[2]!.id);
      ob.ack(all[2]!.id); // acknowledging twice is harmless
      expect(ob.stats()).toMatchObject({ sealedEnvelopes: 0, sealedReadings: 0, oldestTs: undefined });
      ob.close();
    });

    it('drop_oldest discards the oldest readings to make room, and counts them', async () => {
      const ob = factory.create({ maxReadings: 5, overflow: 'drop_oldest' });
      await ob.append(readings(2, 0), T0);
      ob.seal(header, 10, T0);
      await ob.append(readings(2, 2), T0);
      await ob.append(readings(2, 4), T0);
      const s = ob.stats();
      expect(s.droppedReadings).toBe(2);
      expect(s.pendingReadings + s.sealedReadings).toBe(4);
      const env = ob.seal(header, 10, T0)!;
      expect(values(env.payload)).toEqual([2, 3, 4, 5]);
      ob.close();
    });

    it('reject_new keeps what it holds and refuses what does not fit', async () => {
      const ob = factory.create({ maxReadings: 3, overflow: 'reject_new' });
      await ob.append(readings(2, 0), T0);
      await ob.append(readings(2, 2), T0);
      expect(ob.stats()).toMatchObject({ pendingReadings: 2, droppedReadings: 2 });
      ob.close();
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      it('keeps pending readings and sealed envelopes, with their seq, across a reopen', async () => {
        let ob = factory.create();
        await ob.append(readings(2, 0), T0);
        const sealed = ob.seal(header, 10, T0)!;
        await ob.append(readings(1, 2), T0);
        ob = reopen(ob);
        expect(ob.sealed(0, 10)).toEqual([sealed]);
        expect(ob.stats()).toMatchObject({ pendingReadings: 1, sealedReadings: 2, sealedEnvelopes: 1 });
        expect(ob.nextSeq('boot-1')).toBe(1);
        const next = ob.seal({ ...header, bootId: 'boot-2' }, 10, T0)!;
        expect(next.seq).toBe(0);
        expect(values(next.payload)).toEqual([2]);
        ob.close();
      });
    }

    it('remembers which sensor messages it took, by client, packet id and digest (across a reopen when durable)', async () => {
      let ob = factory.create();
      const origin = { clientId: 'sensor-7', messageId: 42, digest: 'abc' };
      expect(ob.seenMessage(origin)).toBe(false);
      await ob.append(readings(2, 0), T0, origin);
      expect(ob.seenMessage(origin)).toBe(true);
      // The same packet id with other content is a new message (ids are reused after each PUBACK).
      expect(ob.seenMessage({ ...origin, digest: 'other' })).toBe(false);
      expect(ob.seenMessage({ ...origin, clientId: 'sensor-8' })).toBe(false);
      if (factory.reopen) {
        ob = factory.reopen(ob);
        expect(ob.seenMessage(origin)).toBe(true);
      }
      ob.close();
    });
  });
}
