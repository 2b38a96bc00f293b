import { describe, expect, it } from 'vitest';
import { type ByteOrder, type DataType, decodeNumber, decodeString, encodeNumber, encodeString, ordersFor, registerWidth } from './codec.ts';

type NumericType = Exclude<DataType, 'bool' | 'string'>;

// Known wire images: the value's big-endian bytes (checked with Python's struct.pack), then each order's permutation.
const VECTORS: [NumericType, number, string][] = [
  ['int16', -2, 'fffe'],
  ['uint16', 0xabcd, 'abcd'],
  ['int32', -123456789, 'f8a432eb'],
  ['uint32', 0x12345678, '12345678'],
  ['float32', 123.456, '42f6e979'],
  ['int64', -1234567890123, 'fffffee08e04fb35'],
  ['uint64', 2 ** 52 + 3, '0010000000000003'],
  ['float64', -9876.54321, 'c0c34a4587e7c06e'],
];

/** Applies an order to big-endian bytes: wire[letter] = value byte at the letter's position in the order. */
function wireFor(bigEndianHex: string, order: ByteOrder): string {
  const be = Buffer.from(bigEndianHex, 'hex');
  const wire = Buffer.alloc(be.length);
  for (let i = 0; i < order.length; i++) wire[order.charCodeAt(i) - 65] = be[i]!;
  return wire.toString('hex');
}

describe('register codec: every type × byte/word order', () => {
  const rows = VECTORS.flatMap(([type, value, hex]) => ordersFor(registerWidth(type) * 2).map((order) => [type, order, value, hex] as const));

  it.each(rows)('%s %s decodes its wire image', (type, order, value, hex) => {
    const wire = Buffer.from(wireFor(hex, order), 'hex');
    const got = decodeNumber(wire, type, order);
    if (type === 'float32') expect(got).toBeCloseTo(value, 3);
    else expect(got).toBe(value);
  });

  it.each(rows)('%s %s encodes to its wire image', (type, order, value, hex) => {
    expect(encodeNumber(value, type, order).toString('hex')).toBe(wireFor(hex, order));
  });

  it('pins the common orders to literal register pairs (datasheet view)', () => {
    // 123.456 as float32 is 0x42F6E979: registers [0x42F6, 0xE979] in ABCD, [0xE979, 0x42F6] in CDAB.
    expect(decodeNumber(Buffer.from('42f6e979', 'hex'), 'float32', 'ABCD')).toBeCloseTo(123.456, 3);
    expect(decodeNumber(Buffer.from('e97942f6', 'hex'), 'float32', 'CDAB')).toBeCloseTo(123.456, 3);
    expect(decodeNumber(Buffer.from('f642 79e9'.replace(' ', ''), 'hex'), 'float32', 'BADC')).toBeCloseTo(123.456, 3);
    expect(decodeNumber(Buffer.from('79e9f642', 'hex'), 'float32', 'DCBA')).toBeCloseTo(123.456, 3);
    expect(decodeNumber(Buffer.from('0102', 'hex'), 'uint16', 'BA')).toBe(0x0201);
  });

  it('clamps integers when encoding out-of-range values (the simulator relies on it)', () => {
    expect(decodeNumber(encodeNumber(70000, 'uint16'), 'uint16')).toBe(65535);
    expect(decodeNumber(encodeNumber(-5, 'uint32'), 'uint32')).toBe(0);
  });

  it('reads and writes strings, two characters per register', () => {
    expect(decodeString(encodeString('VT-200', 4))).toBe('VT-200');
    expect(decodeString(encodeString('VT-200', 4, 'BA'), 'BA')).toBe('VT-200');
    expect(decodeString(Buffer.from('5654', 'hex'))).toBe('VT');
  });
});
