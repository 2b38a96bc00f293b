export type SeqVerdict = 'new' | 'duplicate' | 'conflict';

/** The part of one boot's window that must survive a restart. */
export interface WindowState {
  floor: number;
  ahead: number[];
  /** The newest seqs' digests, so a reused seq is still told from a resend after a restart. */
  digests?: [number, string][];
}

/** Digests kept on disk per boot (the in-flight window of a gateway is far smaller). */
const DIGESTS_PERSISTED = 256;

/**
 * Remembers which (gatewayId, bootId, seq) Envelopes were already stored, so a resend after a lost
 * PUBACK is acknowledged without being written twice. Per boot it keeps a floor (every seq at or below
 * it was seen) and the seqs seen above it, so out-of-order resends within the in-flight window work.
 * It also keeps a digest of the recent Envelopes' bytes: a gateway resends an Envelope byte for byte
 * (the outbox seals it once), so the same seq with other bytes is not a resend but a conflict.
 * Memory is bounded: a few boots per gateway, a capped set and a capped digest list per boot. The
 * windows survive a restart through DedupeLedger, with the newest digests of each boot.
 */
export class EnvelopeDedupe {
  private readonly gateways = new Map<string, Map<string, SeqWindow>>();
  /** Each gateway's site, so the windows of one shard's gateways can move with the shard. */
  private readonly siteOf = new Map<string, string>();

  constructor(
    private readonly bootsPerGateway = 8,
    private readonly maxAhead = 10_000,
    private readonly digestsPerBoot = 4096,
  ) {}

  check(gatewayId: string, bootId: string, seq: number, digest?: string): SeqVerdict {
    const w = this.gateways.get(gatewayId)?.get(bootId);
    if (!w?.has(seq)) return 'new';
    const known = digest === undefined ? undefined : w.digests.get(seq);
    return known !== undefined && known !== digest ? 'conflict' : 'duplicate';
  }

  isDuplicate(gatewayId: string, bootId: string, seq: number): boolean {
    return this.check(gatewayId, bootId, seq) !== 'new';
  }

  /** Records an Envelope as stored. Call only with its durable write (or undo with {@link unmark}). */
  mark(gatewayId: string, bootId: string, seq: number, digest?: string, site?: string): void {
    if (site !== undefined && this.siteOf.get(gatewayId) !== site) this.siteOf.set(gatewayId, site);
    const w = this.window(gatewayId, bootId);
    w.add(seq);
    if (digest !== undefined) {
      w.digests.set(seq, digest);
      if (w.digests.size > this.digestsPerBoot) w.digests.delete(w.digests.keys().next().value!);
    }
  }

  /** Takes back a {@link mark} whose durable write failed, so the resend is stored. */
  unmark(gatewayId: string, bootId: string, seq: number): void {
    const w = this.gateways.get(gatewayId)?.get(bootId);
    if (!w) return;
    w.remove(seq);
    w.digests.delete(seq);
  }

  /** The highest contiguous seq seen per gateway boot, for gap reporting. */
  floor(gatewayId: string, bootId: string): number | undefined {
    return this.gateways.get(gatewayId)?.get(bootId)?.floorSeq;
  }

  state(gatewayId: string, bootId: string): WindowState | undefined {
    const w = this.gateways.get(gatewayId)?.get(bootId);
    if (!w) return undefined;
    const digests = [...w.digests].slice(-DIGESTS_PERSISTED);
    return { floor: w.floorSeq, ahead: [...w.ahead], digests };
  }

  restore(gatewayId: string, bootId: string, s: WindowState): void {
    const w = this.window(gatewayId, bootId);
    w.floorSeq = s.floor;
    for (const seq of s.ahead) w.add(seq);
    for (const [seq, digest] of s.digests ?? []) w.digests.set(seq, digest);
  }

  /** The windows of the gateways whose site `only` takes (one shard's, to hand to its next owner). */
  windows(only: (site: string) => boolean): { gatewayId: string; bootId: string; site: string; state: WindowState }[] {
    const out: { gatewayId: string; bootId: string; site: string; state: WindowState }[] = [];
    for (const [gatewayId, boots] of this.gateways) {
      const site = this.siteOf.get(gatewayId);
      if (site === undefined || !only(site)) continue;
      for (const bootId of boots.keys()) out.push({ gatewayId, bootId, site, state: this.state(gatewayId, bootId)! });
    }
    return out;
  }

  /**
   * Adds what another server stored to this window (a shard taken over): seen stays seen, so the
   * union of both is right whichever is newer.
   */
  merge(gatewayId: string, bootId: string, site: string, s: WindowState): void {
    if (!this.siteOf.has(gatewayId)) this.siteOf.set(gatewayId, site);
    const w = this.window(gatewayId, bootId);
    w.raiseFloor(s.floor);
    for (const seq of s.ahead) w.add(seq);
    for (const [seq, digest] of s.digests ?? []) if (!w.digests.has(seq)) w.digests.set(seq, digest);
  }

  /** Boots that fell out of the per-gateway window since the last call (to forget on disk too). */
  takeEvicted(): { gatewayId: string; bootId: string }[] {
    const e = this.evicted;
    this.evicted = [];
    return e;
  }

  private evicted: { gatewayId: string; bootId: string }[] = [];

  private window(gatewayId: string, bootId: string): SeqWindow {
    let boots = this.gateways.get(gatewayId);
    if (!boots) this.gateways.set(gatewayId, (boots = new Map()));
    let w = boots.get(bootId);
    if (!w) {
      w = new SeqWindow(this.maxAhead);
      boots.set(bootId, w);
      if (boots.size > this.bootsPerGateway) {
        const oldest = boots.keys().next().value!;
        boots.delete(oldest);
        this.evicted.push({ gatewayId, bootId: oldest });
      }
    }
    return w;
  }
}

class SeqWindow {
  /** Every seq <= floorSeq has been seen; -1 when none has. */
  floorSeq = -1;
  readonly ahead = new Set<number>();
  readonly digests = new Map<number, string>();

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

  /** Every seq up to `floor` was seen (by another server). */
  raiseFloor(floor: number): void {
    if (floor <= this.floorSeq) return;
    for (const seq of this.ahead) if (seq <= floor) this.ahead.delete(seq);
    this.floorSeq = floor;
    while (this.ahead.delete(this.floorSeq + 1)) this.floorSeq++;
  }

  remove(seq: number): void {
    if (this.ahead.delete(seq) || seq > this.floorSeq) return;
    // The floor passed it: the seqs between it and the floor stay seen, as `ahead`.
    for (let s = seq + 1; s <= this.floorSeq; s++) this.ahead.add(s);
    this.floorSeq = seq - 1;
  }
}
