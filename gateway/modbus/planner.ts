import type { MappedRegister, Table } from './profile.ts';

export interface ReadBlock {
  table: Table;
  start: number;
  count: number;
  registers: MappedRegister[];
}

export interface PlanLimits {
  /** Registers per read (125 for registers; bit tables allow 2000 bits, capped here by the same rule ×16). */
  maxRegisters: number;
  /** Unmapped addresses one read may span. */
  maxGap: number;
}

/** What a device has taught the planner: addresses no read may span into, and registers it refuses. */
export interface LearnedMap {
  /** Per table: addresses that must start a new read (a hole lies before them). */
  barriers: Map<Table, Set<number>>;
  /** Registers the device refuses on their own (exception 02), by table and address. */
  refused: Map<Table, Set<number>>;
}

export function emptyLearnedMap(): LearnedMap {
  return { barriers: new Map(), refused: new Map() };
}

const TABLE_ORDER: Table[] = ['coil', 'discrete', 'holding', 'input'];

/**
 * Groups registers into as few reads as the limits allow: sorted by address, a register joins the
 * current read when the read stays within `maxRegisters`, the unmapped gap before it is at most
 * `maxGap`, and no barrier (a hole the device has shown) lies in between. Overlapping registers
 * (a bit and the word it lives in) share a read.
 */
export function planReads(registers: readonly MappedRegister[], limits: PlanLimits, learned: LearnedMap = emptyLearnedMap()): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const table of TABLE_ORDER) {
    const bits = table === 'coil' || table === 'discrete';
    const max = bits ? Math.min(2000, limits.maxRegisters * 16) : limits.maxRegisters;
    const refused = learned.refused.get(table);
    const barriers = learned.barriers.get(table);
    const regs = registers.filter((r) => r.spec.table === table && !refused?.has(r.address)).sort((a, b) => a.address - b.address || b.width - a.width);
    let cur: ReadBlock | undefined;
    for (const r of regs) {
      const end = r.address + r.width;
      if (cur) {
        const curEnd = cur.start + cur.count;
        const gap = r.address - curEnd;
        const start = cur.start;
        const crossesBarrier = barriers !== undefined && [...barriers].some((b) => b > start && b <= r.address);
        if (gap <= limits.maxGap && Math.max(end, curEnd) - cur.start <= max && !crossesBarrier) {
          cur.count = Math.max(end, curEnd) - cur.start;
          cur.registers.push(r);
          continue;
        }
      }
      cur = { table, start: r.address, count: r.width, registers: [r] };
      blocks.push(cur);
    }
  }
  return blocks;
}

/**
 * After exception 02 (illegal data address) for a read of several registers: the split point to
 * remember as a barrier, between the two halves of its registers, so the next plan reads them apart.
 * Repeated halving finds the hole in log2(n) polls without ever decoding a shifted value.
 */
export function splitPoint(block: ReadBlock): number | undefined {
  const starts = [...new Set(block.registers.map((r) => r.address))].sort((a, b) => a - b);
  if (starts.length < 2) return undefined;
  return starts[Math.floor(starts.length / 2)];
}
