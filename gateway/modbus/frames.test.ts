import { describe, expect, it } from 'vitest';
import { mbapFrame, mbapReadRequest, readRequestPdu } from './frames.ts';

describe('Modbus TCP read requests', () => {
  it.each([
    [1, 1, 'holding', 0, 1],
    [65535, 247, 'input', 9999, 125],
    [300, 6, 'coil', 17, 2000],
    [7, 0, 'discrete', 65535, 1],
  ] as const)('builds tid %i unit %i %s %i+%i exactly as MBAP header + PDU', (tid, unit, table, start, count) => {
    expect(mbapReadRequest(tid, unit, table, start, count)).toEqual(mbapFrame(tid, unit, readRequestPdu(table, start, count)));
  });
});
