import type { Reading } from '../../core/index.ts';
import {
  type EnvelopeHeader,
  type MessageOrigin,
  type Outbox,
  type OutboxStats,
  type OverflowPolicy,
  type SealedEnvelope,
  envelopeJson,
  minTs,
  readingsBody,
} from './types.ts';

interface Pending {
  body: string;
  count: number;
  minTs: number;
  at: number;
}
interface Sealed extends SealedEnvelope {
  minTs: number;
}

/** In-memory Outbox with the same semantics as the SQLite one; for unit tests. */
export class MemoryOutbox implements Outbox {
  private pending: Pending[] = [];
  private envelopes: Sealed[] = [];
  private nextId = 1;
  private dropped = 0;
  private readonly seqs = new Map<string, number>();

  constructor(private readonly opts: { maxReadings: number; overflow: OverflowPolicy } = { maxReadings: 1e9, overflow: 'drop_oldest' }) {}

  private readonly messages = new Map<string, string>();

  seenMessage(o: MessageOrigin): boolean {
    return this.messages.get(`${o.clientId}\u0000${o.messageId}`) === o.digest;
  }

  async append(readings: readonly Reading[], now: number, origin?: MessageOrigin): Promise<void> {
    if (readings.length === 0) return;
    if (origin) this.messages.set(`${origin.clientId}\u0000${origin.messageId}`, origin.digest);
    const held = () => this.stats().pendingReadings + this.stats().sealedReadings;
    if (held() + readings.length > this.opts.maxReadings) {
      if (this.opts.overflow === 'reject_new') {
        this.dropped += readings.length;
        return;
      }
      while (held() + readings.length > this.opts.maxReadings && (this.envelopes.length > 0 || this.pending.length > 0)) {
        if (this.envelopes.length > 0) this.dropped += this.envelopes.shift()!.readingCount;
        else this.dropped += this.pending.shift()!.count;
      }
    }
    this.pending.push({ body: readingsBody(readings), count: readings.length, minTs: minTs(readings), at: now });
  }

  seal(header: EnvelopeHeader, maxReadings: number, now: number): SealedEnvelope | undefined {
    if (this.pending.length === 0) return undefined;
    const take: Pending[] = [];
    let count = 0;
    while (this.pending.length > 0 && (take.length === 0 || count + this.pending[0]!.count <= maxReadings)) {
      const p = this.pending.shift()!;
      take.push(p);
      count += p.count;
    }
    const seq = this.nextSeq(header.bootId);
    this.seqs.set(header.bootId, seq + 1);
    const env: Sealed = {
      id: this.nextId++,
      bootId: header.bootId,
      seq,
      readingCount: count,
      payload: envelopeJson(header, seq, now, take.map((p) => p.body).join(',')),
      minTs: Math.min(...take.map((p) => p.minTs)),
    };
    this.envelopes.push(env);
    return env;
  }

  sealed(afterId: number, limit: number): SealedEnvelope[] {
    return this.envelopes.filter((e) => e.id > afterId).slice(0, limit);
  }

  ack(id: number): void {
    this.envelopes = this.envelopes.filter((e) => e.id !== id);
  }

  nextSeq(bootId: string): number {
    return this.seqs.get(bootId) ?? 0;
  }

  depth(): { pendingReadings: number; sealedEnvelopes: number; oldestPendingAt: number | undefined } {
    return { pendingReadings: this.pending.reduce((n, p) => n + p.count, 0), sealedEnvelopes: this.envelopes.length, oldestPendingAt: this.pending[0]?.at };
  }

  stats(): OutboxStats {
    const all = [...this.pending.map((p) => p.minTs), ...this.envelopes.map((e) => e.minTs)];
    return {
      pendingReadings: this.pending.reduce((n, p) => n + p.count, 0),
      sealedEnvelopes: this.envelopes.length,
      sealedReadings: this.envelopes.reduce((n, e) => n + e.readingCount, 0),
      oldestTs: all.length > 0 ? Math.min(...all) : undefined,
      oldestPendingAt: this.pending[0]?.at,
      droppedReadings: this.dropped,
    };
  }

  close(): void {}
}
