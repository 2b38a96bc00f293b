/**
 * Remembers which (gatewayId, bootId, seq) Envelopes were already stored, so a resend after a lost
 * PUBACK is acknowledged without being written twice. Per boot it keeps a floor (every seq at or below
 * it was seen) and the seqs seen above it, so out-of-order resends within the in-flight window work.
 * Memory is bounded: a few boots per gateway and a capped set per boot. After a server restart the
 * memory is empty; a resend then reaches the TSDB again, where identical points overwrite themselves.
 */
export class EnvelopeDedupe {
  private readonly gateways = new Map<string, Map<string, SeqWindow>>();

  constructor(
    private readonly bootsPerGateway = 8,
    private readonly maxAhead = 10_000,
  ) {}

  isDuplicate(gatewayId: string, bootId: string, seq: number): boolean {
    return this.gateways.get(gatewayId)?.get(bootId)?.has(seq) ?? false;
  }

  /** Records an Envelope as stored. Call only after its durable write. */
  mark(gatewayId: string, bootId: string, seq: number): void {
    let boots = this.gateways.get(gatewayId);
    if (!boots) this.gateways.set(gatewayId, (boots = new Map()));
    let w = boots.get(bootId);
    if (!w) {
      w = new SeqWindow(this.maxAhead);
      boots.set(bootId, w);
      if (boots.size > this.bootsPerGateway) boots.delete(boots.keys().next().value!);
    }
    w.add(seq);
  }

  /** The highest contiguous seq seen per gateway boot, for gap reporting. */
  floor(gatewayId: string, bootId: string): number | undefined {
    return this.gateways.get(gatewayId)?.get(bootId)?.floorSeq;
  }
}

class SeqWindow {
  /** Every seq <= floorSeq has been seen; -1 when none has. */
  floorSeq = -1;
  private readonly ahead = new Set<number>();

  constructor(private readonly maxAhead: number) {}

  has(seq: number): boolean {
    return seq <= this.floorSeq || this.ahead.has(seq);
  }

  add(seq: number): void {
    if (seq <= this.floorSeq) return;
    this.ahead.add(seq);
    while (this.ahead.delete(this.floorSeq + 1)) this.floorSeq++;
    if (this.ahead.size > this.maxAhead) {
      // A gap that never fills (an Envelope lost upstream for good) must not grow memory without end.
      const min = Math.min(...this.ahead);
      this.floorSeq = min;
      this.ahead.delete(min);
      while (this.ahead.delete(this.floorSeq + 1)) this.floorSeq++;
    }
  }
}
