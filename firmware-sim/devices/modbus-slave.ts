import type { MetricId } from '../../core/index.ts';
import { encodeNumber, encodeString, exceptionPdu, mapRegisters, readResponsePdu, type MappedRegister, type Profile, type Table } from '../../gateway/modbus/index.ts';

const FC_TABLE: Record<number, Table> = { 1: 'coil', 2: 'discrete', 3: 'holding', 4: 'input' };

/** Faults a simulated slave can be told to show; all can change while it runs. */
export interface SlaveFaults {
  /** Addresses the device does not have: a read touching one is answered with exception 02. */
  holes?: { table: Table; address: number }[];
  /** Answer every read with this exception (4: device failure, 6: busy). */
  exception?: number;
  /** Never answer (a dead or unplugged slave). */
  silent?: boolean;
  /** Answer this late (a slow slave; longer than the master's timeout makes a late reply). */
  delayMs?: number;
}

export type ValueSource = (t: number) => Partial<Record<MetricId, number>>;

/**
 * The register image of a device built from a profile: every read is answered from the values the
 * signal model gives at that moment, encoded the way the profile says (type, byte order, scale,
 * offset), so the gateway's decoding is checked against an independent encoding of known values.
 */
export class SimSlave {
  private readonly registers: MappedRegister[];
  private readonly extent = new Map<Table, number>();
  faults: SlaveFaults;
  answered = 0;

  constructor(
    readonly unitId: number,
    readonly profile: Profile,
    private readonly source: ValueSource,
    private readonly now: () => number = Date.now,
    faults: SlaveFaults = {},
  ) {
    this.registers = mapRegisters(profile);
    this.faults = faults;
    for (const r of this.registers) this.extent.set(r.spec.table, Math.max(this.extent.get(r.spec.table) ?? 0, r.address + r.width));
  }

  /** The answer to a request PDU, and how long to wait before sending it; undefined: stay silent. */
  answer(pdu: Buffer): { pdu: Buffer; delayMs: number } | undefined {
    if (this.faults.silent) return undefined;
    const delayMs = this.faults.delayMs ?? 0;
    const fc = pdu[0]!;
    const table = FC_TABLE[fc];
    if (!table || pdu.length < 5) return { pdu: exceptionPdu(fc, 1), delayMs };
    if (this.faults.exception) return { pdu: exceptionPdu(fc, this.faults.exception), delayMs };
    const start = pdu.readUInt16BE(1);
    const count = pdu.readUInt16BE(3);
    const bits = table === 'coil' || table === 'discrete';
    if (count < 1 || count > (bits ? 2000 : 125)) return { pdu: exceptionPdu(fc, 3), delayMs };
    const end = start + count;
    const hole = this.faults.holes?.some((h) => h.table === table && h.address >= start && h.address < end);
    if (hole || end > (this.extent.get(table) ?? 0)) return { pdu: exceptionPdu(fc, 2), delayMs };
    this.answered++;
    return { pdu: readResponsePdu(fc, this.image(table, start, count)), delayMs };
  }

  private image(table: Table, start: number, count: number): Buffer | boolean[] {
    const values = this.source(this.now());
    if (table === 'coil' || table === 'discrete') {
      const bits = Array.from({ length: count }, () => false);
      for (const r of this.registers) {
        if (r.spec.table !== table || r.address < start || r.address >= start + count) continue;
        bits[r.address - start] = (values[r.spec.metric!] ?? 0) !== 0;
      }
      return bits;
    }
    const img = Buffer.alloc(count * 2);
    for (const r of this.registers) {
      if (r.spec.table !== table || r.address < start || r.address + r.width > start + count) continue;
      const s = r.spec;
      let bytes: Buffer;
      if (s.type === 'string') bytes = encodeString(`SIM-${this.unitId}`, r.width, s.order === 'BA' ? 'BA' : 'AB');
      else if (s.type === 'bool') {
        bytes = Buffer.alloc(2);
        bytes.writeUInt16BE((values[s.metric!] ?? 0) !== 0 ? 1 << s.bit! : 0);
      }
      else bytes = encodeNumber(((values[s.metric!] ?? 0) - s.offset) / s.scale, s.type, s.order);
      bytes.copy(img, (r.address - start) * 2);
    }
    return img;
  }
}
