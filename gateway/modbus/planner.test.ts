import { describe, expect, it } from 'vitest';
import { decodeBlock } from './decode.ts';
import { encodeNumber } from './codec.ts';
import { type LearnedMap, emptyLearnedMap, planReads, splitPoint } from './planner.ts';
import { type MappedRegister, type RegisterSpec, RegisterSpecSchema } from './profile.ts';

function reg(address: number, type: RegisterSpec['type'] = 'uint16', table: RegisterSpec['table'] = 'holding', extra: Partial<RegisterSpec> = {}): MappedRegister {
  const spec = RegisterSpecSchema.parse({ metric: 'speed_rpm', table, address, type, ...(type === 'bool' && table !== 'coil' && table !== 'discrete' ? { bit: 0 } : {}), ...extra });
  const width = table === 'coil' || table === 'discrete' ? 1 : { uint16: 1, int16: 1, bool: 1, float32: 2, int32: 2, uint32: 2, float64: 4, int64: 4, uint64: 4, string: spec.length ?? 1 }[type];
  return { spec: { ...spec, order: spec.order ?? (width === 2 ? 'ABCD' : width === 4 ? 'ABCDEFGH' : 'AB') }, address, width };
}

const spans = (blocks: ReturnType<typeof planReads>) => blocks.map((b) => `${b.table}:${b.start}+${b.count}`);

describe('request planner', () => {
  it('coalesces neighbours into one read, and skips gaps wider than maxGap', () => {
    const regs = [reg(0, 'float32'), reg(2, 'float32'), reg(4), reg(20), reg(21)];
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 8 }))).toEqual(['holding:0+5', 'holding:20+2']);
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 15 }))).toEqual(['holding:0+22']);
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 0 }))).toEqual(['holding:0+5', 'holding:20+2']);
  });

  it('never exceeds the per-read limit, and never splits a multi-register value', () => {
    const regs = Array.from({ length: 100 }, (_, i) => reg(i * 2, 'float32'));
    const blocks = planReads(regs, { maxRegisters: 125, maxGap: 0 });
    expect(blocks.every((b) => b.count <= 125)).toBe(true);
    expect(blocks.map((b) => b.count)).toEqual([124, 76]);
    expect(spans(planReads([reg(0), reg(1, 'float32')], { maxRegisters: 2, maxGap: 0 }))).toEqual(['holding:0+1', 'holding:1+2']);
  });

  it('keeps tables apart and plans bit tables by bits', () => {
    const regs = [reg(0, 'uint16', 'input'), reg(0, 'uint16', 'holding'), reg(3, 'bool', 'coil'), reg(0, 'bool', 'coil')];
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 8 }))).toEqual(['coil:0+4', 'holding:0+1', 'input:0+1']);
  });

  it('reads a bit-in-register and its word together', () => {
    const regs = [reg(5, 'bool', 'holding', { bit: 3 }), reg(5, 'uint16')];
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 8 }))).toEqual(['holding:5+1']);
  });

  it('splits at barriers learned from exception 02, and skips refused registers', () => {
    const regs = [reg(0), reg(1), reg(2), reg(3)];
    const learned: LearnedMap = emptyLearnedMap();
    const [block] = planReads(regs, { maxRegisters: 125, maxGap: 8 }, learned);
    const at = splitPoint(block!)!;
    expect(at).toBe(2);
    learned.barriers.set('holding', new Set([at]));
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 8 }, learned))).toEqual(['holding:0+2', 'holding:2+2']);
    learned.refused.set('holding', new Set([3]));
    expect(spans(planReads(regs, { maxRegisters: 125, maxGap: 8 }, learned))).toEqual(['holding:0+2', 'holding:2+1']);
    expect(splitPoint({ table: 'holding', start: 2, count: 1, registers: [reg(2)] })).toBeUndefined();
  });
});

describe('decodeBlock', () => {
  it('takes each value at its own offset, with scale and offset', () => {
    const regs = [reg(10, 'float32', 'input', { scale: 2, offset: 1 }), reg(14, 'int16', 'input', { scale: 0.1 })];
    const [block] = planReads(regs, { maxRegisters: 125, maxGap: 8 });
    const data = Buffer.concat([encodeNumber(1.5, 'float32'), Buffer.alloc(4), encodeNumber(-215, 'int16')]);
    const values = decodeBlock(block!, data).map((v) => v.value);
    expect(values[0]).toBe(4);
    expect(values[1]).toBeCloseTo(-21.5);
  });

  it('refuses a response of the wrong length instead of shifting values', () => {
    const [block] = planReads([reg(0), reg(1)], { maxRegisters: 125, maxGap: 8 });
    expect(() => decodeBlock(block!, Buffer.alloc(2))).toThrow(/1 registers, 2 were asked for/);
  });

  it('reads bits from coils and from registers', () => {
    const [coils] = planReads([reg(0, 'bool', 'coil'), reg(2, 'bool', 'coil')], { maxRegisters: 125, maxGap: 8 });
    expect(decodeBlock(coils!, [true, false, false, false, false, false, false, false]).map((v) => v.value)).toEqual([1, 0]);
    const [word] = planReads([reg(0, 'bool', 'holding', { bit: 3 })], { maxRegisters: 125, maxGap: 8 });
    expect(decodeBlock(word!, Buffer.from([0x00, 0x08])).map((v) => v.value)).toEqual([1]);
  });
});
