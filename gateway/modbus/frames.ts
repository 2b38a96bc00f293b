import type { Table } from './profile.ts';

/** Function codes of the reads Vigil issues (Modbus Application Protocol v1.1b3, §6.1-6.4). */
export const READ_FC: Record<Table, number> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export function readRequestPdu(table: Table, start: number, count: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = READ_FC[table];
  b.writeUInt16BE(start, 1);
  b.writeUInt16BE(count, 3);
  return b;
}

export type ReadAnswer = { kind: 'data'; data: Buffer | boolean[] } | { kind: 'exception'; code: number };

/** Bytes of a read response PDU for `count` registers or bits. */
export function responseDataBytes(table: Table, count: number): number {
  return table === 'coil' || table === 'discrete' ? Math.ceil(count / 8) : count * 2;
}

/** Interprets a response PDU to a read; a string says why it is not a valid answer to that read. */
export function parseReadResponse(table: Table, count: number, pdu: Buffer): ReadAnswer | string {
  const fc = READ_FC[table];
  if (pdu.length >= 2 && pdu[0] === (fc | 0x80)) return { kind: 'exception', code: pdu[1]! };
  if (pdu[0] !== fc) return `function code ${pdu[0]} in answer to ${fc}`;
  const bytes = responseDataBytes(table, count);
  if (pdu[1] !== bytes || pdu.length !== 2 + bytes) return `byte count ${pdu[1]} (${pdu.length - 2} sent), ${bytes} expected`;
  const data = pdu.subarray(2);
  if (table === 'coil' || table === 'discrete') {
    return { kind: 'data', data: Array.from({ length: count }, (_, i) => ((data[i >> 3]! >> (i & 7)) & 1) === 1) };
  }
  return { kind: 'data', data: Buffer.from(data) };
}

/** CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first. */
export function crc16(buf: Buffer): number {
  let crc = 0xffff;
  for (let i = 0; i < buf.length; i++) {
    crc ^= buf[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function rtuFrame(unitId: number, pdu: Buffer): Buffer {
  const f = Buffer.alloc(pdu.length + 3);
  f[0] = unitId;
  pdu.copy(f, 1);
  f.writeUInt16LE(crc16(f.subarray(0, f.length - 2)), f.length - 2);
  return f;
}

export function crcOk(frame: Buffer): boolean {
  return frame.length >= 4 && crc16(frame.subarray(0, frame.length - 2)) === frame.readUInt16LE(frame.length - 2);
}

/** Length of a request PDU starting at `pdu[0]` for the function codes a simulated slave answers. */
export function requestPduLength(fc: number | undefined): number | undefined {
  return fc !== undefined && fc >= 1 && fc <= 6 ? 5 : undefined;
}

/** MBAP header + PDU (Modbus Messaging on TCP/IP Implementation Guide v1.0b, §3.1.3). */
export function mbapFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const f = Buffer.alloc(7 + pdu.length);
  f.writeUInt16BE(transactionId, 0);
  f.writeUInt16BE(0, 2);
  f.writeUInt16BE(pdu.length + 1, 4);
  f[6] = unitId;
  pdu.copy(f, 7);
  return f;
}

/** A read request as one Modbus TCP frame, in one allocation (the poll hot path). */
export function mbapReadRequest(transactionId: number, unitId: number, table: Table, start: number, count: number): Buffer {
  const f = Buffer.allocUnsafe(12);
  f.writeUInt16BE(transactionId, 0);
  f.writeUInt16BE(0, 2);
  f.writeUInt16BE(6, 4);
  f[6] = unitId;
  f[7] = READ_FC[table];
  f.writeUInt16BE(start, 8);
  f.writeUInt16BE(count, 10);
  return f;
}

export function exceptionPdu(fc: number, code: number): Buffer {
  return Buffer.from([fc | 0x80, code]);
}

/** A read response PDU with the given register bytes or bits. */
export function readResponsePdu(fc: number, data: Buffer | boolean[]): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(data)) bytes = data;
  else {
    bytes = Buffer.alloc(Math.ceil(data.length / 8));
    data.forEach((bit, i) => {
      if (bit) bytes[i >> 3]! |= 1 << (i & 7);
    });
  }
  return Buffer.concat([Buffer.from([fc, bytes.length]), bytes]);
}
