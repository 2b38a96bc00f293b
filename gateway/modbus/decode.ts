import { decodeNumber, decodeString } from './codec.ts';
import type { ReadBlock } from './planner.ts';
import type { MappedRegister } from './profile.ts';

export interface DecodedValue {
  register: MappedRegister;
  /** Scaled value for metrics; text for strings. */
  value: number | string;
}

/**
 * Values of a block from its response. `data` is the register bytes (holding/input) or one boolean per
 * address (coil/discrete). Each value is taken at its own offset from the block's start, and a
 * response of the wrong length is refused outright: a short answer must never shift a value.
 */
export function decodeBlock(block: ReadBlock, data: Buffer | readonly boolean[]): DecodedValue[] {
  const bits = block.table === 'coil' || block.table === 'discrete';
  const have = bits ? (data as readonly boolean[]).length : (data as Buffer).length / 2;
  if (bits ? have < block.count : have !== block.count) {
    throw new Error(`response holds ${have} ${bits ? 'bits' : 'registers'}, ${block.count} were asked for`);
  }
  return block.registers.map((r) => {
    const at = r.address - block.start;
    const s = r.spec;
    if (bits) return { register: r, value: (data as readonly boolean[])[at] ? 1 : 0 };
    const wire = (data as Buffer).subarray(at * 2, (at + r.width) * 2);
    if (s.type === 'string') return { register: r, value: decodeString(wire, s.order === 'BA' ? 'BA' : 'AB') };
    if (s.type === 'bool') return { register: r, value: (wire.readUInt16BE(0) >> s.bit!) & 1 };
    return { register: r, value: decodeNumber(wire, s.type, s.order) * s.scale + s.offset };
  });
}
