import { z } from 'zod';

export const DataTypeSchema = z.enum(['bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'string']);
export type DataType = z.infer<typeof DataTypeSchema>;

/**
 * Byte order of a value as the letters of its wire bytes, most significant first. Modbus puts the high
 * byte of each register first, so the wire bytes of registers r0, r1 are A B (r0) C D (r1):
 * `ABCD` is big-endian, `CDAB` swaps the words (common on PLCs), `BADC` swaps the bytes within each
 * word, `DCBA` is little-endian. 64-bit values use A…H the same way.
 */
export const ByteOrderSchema = z.enum(['AB', 'BA', 'ABCD', 'BADC', 'CDAB', 'DCBA', 'ABCDEFGH', 'BADCFEHG', 'GHEFCDAB', 'HGFEDCBA']);
export type ByteOrder = z.infer<typeof ByteOrderSchema>;

/** Registers a value of `type` occupies (strings: their `length`). */
export function registerWidth(type: DataType, length = 1): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4;
    case 'string':
      return length;
  }
}

export function defaultOrder(type: DataType): ByteOrder {
  const w = registerWidth(type);
  return w === 4 ? 'ABCDEFGH' : w === 2 ? 'ABCD' : 'AB';
}

/** Orders that fit a value of `bytes` bytes. */
export function ordersFor(bytes: number): ByteOrder[] {
  return ByteOrderSchema.options.filter((o) => o.length === bytes);
}

/** The value's bytes, most significant first, from its wire bytes. */
function reorder(wire: Buffer, order: ByteOrder): Buffer {
  const out = Buffer.allocUnsafe(order.length);
  for (let i = 0; i < order.length; i++) out[i] = wire[order.charCodeAt(i) - 65]!;
  return out;
}

/** The wire bytes of a value given most significant first (the inverse of {@link reorder}). */
function unorder(value: Buffer, order: ByteOrder): Buffer {
  const out = Buffer.allocUnsafe(order.length);
  for (let i = 0; i < order.length; i++) out[order.charCodeAt(i) - 65] = value[i]!;
  return out;
}

/**
 * Decodes a numeric value from its registers' wire bytes. 64-bit integers beyond 2^53 lose precision
 * as JavaScript numbers; no sensor value needs more.
 */
export function decodeNumber(wire: Buffer, type: Exclude<DataType, 'bool' | 'string'>, order: ByteOrder = defaultOrder(type)): number {
  const b = reorder(wire, order);
  switch (type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'float32':
      return b.readFloatBE(0);
    case 'int64':
      return Number(b.readBigInt64BE(0));
    case 'uint64':
      return Number(b.readBigUInt64BE(0));
    case 'float64':
      return b.readDoubleBE(0);
  }
}

export function encodeNumber(value: number, type: Exclude<DataType, 'bool' | 'string'>, order: ByteOrder = defaultOrder(type)): Buffer {
  const b = Buffer.alloc(registerWidth(type) * 2);
  const int = Math.round(value);
  switch (type) {
    case 'int16':
      b.writeInt16BE(Math.max(-32768, Math.min(32767, int)));
      break;
    case 'uint16':
      b.writeUInt16BE(Math.max(0, Math.min(65535, int)));
      break;
    case 'int32':
      b.writeInt32BE(Math.max(-2147483648, Math.min(2147483647, int)));
      break;
    case 'uint32':
      b.writeUInt32BE(Math.max(0, Math.min(4294967295, int)));
      break;
    case 'float32':
      b.writeFloatBE(value);
      break;
    case 'int64':
      b.writeBigInt64BE(BigInt(int));
      break;
    case 'uint64':
      b.writeBigUInt64BE(BigInt(Math.max(0, int)));
      break;
    case 'float64':
      b.writeDoubleBE(value);
      break;
  }
  return unorder(b, order);
}

/** A string from registers: two characters per register, high byte first unless the order is `BA`; NULs end it. */
export function decodeString(wire: Buffer, order: 'AB' | 'BA' = 'AB'): string {
  const b = Buffer.from(wire);
  if (order === 'BA') b.swap16();
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1').trimEnd();
}

export function encodeString(text: string, registers: number, order: 'AB' | 'BA' = 'AB'): Buffer {
  const b = Buffer.alloc(registers * 2);
  b.write(text.slice(0, registers * 2), 'latin1');
  if (order === 'BA') b.swap16();
  return b;
}
