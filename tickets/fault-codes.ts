import { z } from 'zod';

/**
 * The three questions ISO 14224 asks of every failure, each with its own codes: how it showed
 * (failure mode), what happened physically (failure mechanism), and why (failure cause).
 */
export const FaultCodeKindSchema = z.enum(['failure_mode', 'failure_mechanism', 'failure_cause', 'custom']);

/** Codes are compared in one spelling: upper case, without spaces, dashes or underscores (`m 2.4` is `M2.4`). */
export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/[\s_-]+/g, '');
}

const CODE = /^[A-Z0-9.]{1,16}$/;

export const FaultCodeSchema = z.strictObject({
  code: z
    .string()
    .transform(normaliseCode)
    .pipe(z.string().regex(CODE, 'letters, digits and dots, at most 16 (spaces, dashes and underscores are dropped)')),
  kind: FaultCodeKindSchema.default('custom'),
  title: z.string().trim().min(1).max(200),
  description: z.string().trim().max(1000).optional(),
});
export type FaultCode = z.infer<typeof FaultCodeSchema>;
type Entry = [code: string, title: string, description?: string];

// ISO 14224:2016 Table B.6 (rotating equipment: compressors, electric motors, fans, pumps), the modes that apply.
const MODES: Entry[] = [
  ['AIR', 'Abnormal instrument reading', 'A false alarm or faulty reading of the machine’s own instruments'],
  ['BRD', 'Breakdown', 'Serious damage: seizure, breakage'],
  ['ELP', 'External leakage, process medium'],
  ['ELU', 'External leakage, utility medium', 'Lubricant, cooling water'],
  ['ERO', 'Erratic output', 'Oscillating, hunting or unstable output'],
  ['FTS', 'Fail to start on demand'],
  ['STP', 'Fail to stop on demand'],
  ['HIO', 'High output'],
  ['LOO', 'Low output', 'Delivery or performance below what was specified'],
  ['INL', 'Internal leakage'],
  ['NOI', 'Noise', 'Abnormal noise'],
  ['OHE', 'Overheating', 'Machine parts, exhaust or cooling water too hot'],
  ['PDE', 'Parameter deviation', 'A monitored parameter beyond its tolerance without a trip'],
  ['PLU', 'Plugged or choked'],
  ['SER', 'Minor in-service problems', 'Loose items, discolouration, dirt'],
  ['STD', 'Structural deficiency', 'Material damage: cracks, wear, fracture, corrosion'],
  ['UST', 'Spurious stop', 'Unexpected shutdown'],
  ['VIB', 'Vibration', 'Abnormal vibration'],
  ['OTH', 'Other'],
  ['UNK', 'Unknown'],
];

// Table B.2: failure mechanisms, prefixed M so they do not collide with the causes' numbers.
const MECHANISMS: Entry[] = [
  ['M1.0', 'Mechanical failure, general'],
  ['M1.1', 'Leakage'],
  ['M1.2', 'Vibration'],
  ['M1.3', 'Clearance or alignment failure'],
  ['M1.4', 'Deformation'],
  ['M1.5', 'Looseness'],
  ['M1.6', 'Sticking'],
  ['M2.0', 'Material failure, general'],
  ['M2.1', 'Cavitation'],
  ['M2.2', 'Corrosion'],
  ['M2.3', 'Erosion'],
  ['M2.4', 'Wear'],
  ['M2.5', 'Breakage'],
  ['M2.6', 'Fatigue'],
  ['M2.7', 'Overheating'],
  ['M2.8', 'Burst'],
  ['M3.0', 'Instrument failure, general'],
  ['M3.1', 'Control failure'],
  ['M3.2', 'No signal, indication or alarm'],
  ['M3.3', 'Faulty signal, indication or alarm'],
  ['M3.4', 'Out of adjustment'],
  ['M3.5', 'Software failure'],
  ['M4.0', 'Electrical failure, general'],
  ['M4.1', 'Short circuiting'],
  ['M4.2', 'Open circuit'],
  ['M4.3', 'No power or voltage'],
  ['M4.4', 'Faulty power or voltage'],
  ['M4.5', 'Earth or isolation fault'],
  ['M5.0', 'External influence, general'],
  ['M5.1', 'Blockage or plugged'],
  ['M5.2', 'Contamination'],
  ['M5.3', 'Miscellaneous external influences'],
  ['M6.1', 'No cause found'],
  ['M6.2', 'Combined causes'],
  ['M6.3', 'Other'],
  ['M6.4', 'Unknown'],
];

// Table B.3: failure causes, prefixed C.
const CAUSES: Entry[] = [
  ['C1.0', 'Design-related cause, general'],
  ['C1.1', 'Improper capacity'],
  ['C1.2', 'Improper material'],
  ['C2.0', 'Fabrication or installation error, general'],
  ['C2.1', 'Fabrication error'],
  ['C2.2', 'Installation error'],
  ['C3.0', 'Operation or maintenance, general'],
  ['C3.1', 'Off-design service'],
  ['C3.2', 'Operating error'],
  ['C3.3', 'Maintenance error'],
  ['C3.4', 'Expected wear and tear'],
  ['C4.0', 'Management-related, general'],
  ['C4.1', 'Documentation error'],
  ['C4.2', 'Management error'],
  ['C5.1', 'Cause unknown'],
  ['C5.2', 'Common cause'],
  ['C5.3', 'Combined causes'],
  ['C5.4', 'Other'],
];

const entries = (kind: FaultCode['kind'], list: Entry[]): FaultCode[] => list.map(([code, title, description]) => ({ code, kind, title, ...(description ? { description } : {}) }));

/** The shipped catalog: what applies to rotating equipment (bearings, motors, pumps, fans), so reports compare across companies. */
export const ISO_14224_CODES: readonly FaultCode[] = [...entries('failure_mode', MODES), ...entries('failure_mechanism', MECHANISMS), ...entries('failure_cause', CAUSES)];

/** The shipped codes and the operator's own (config `tickets.faultCodes`); an own code may not reuse a shipped one. */
export class FaultCatalog {
  private readonly byCode: Map<string, FaultCode>;

  constructor(extra: readonly FaultCode[] = []) {
    this.byCode = new Map(ISO_14224_CODES.map((c) => [c.code, c]));
    for (const c of extra) {
      if (this.byCode.has(c.code)) throw new Error(`fault code ${c.code} is already in the catalog`);
      this.byCode.set(c.code, c);
    }
  }

  /** The catalog's entry for a code as typed (any case, spaces or dashes), or undefined. */
  find(code: string): FaultCode | undefined {
    return this.byCode.get(normaliseCode(code));
  }

  list(): FaultCode[] {
    return [...this.byCode.values()];
  }
}

/** Checks the config's own codes at load time: well formed and not a shipped code again. */
export const OwnFaultCodesSchema = z.array(FaultCodeSchema).max(1000).default([]).superRefine((codes, ctx) => {
  const shipped = new Set(ISO_14224_CODES.map((c) => c.code));
  const seen = new Set<string>();
  codes.forEach((c, i) => {
    if (shipped.has(c.code)) ctx.addIssue({ code: 'custom', path: [i, 'code'], message: `${c.code} is a shipped ISO 14224 code; choose another` });
    else if (seen.has(c.code)) ctx.addIssue({ code: 'custom', path: [i, 'code'], message: `${c.code} is listed twice` });
    seen.add(c.code);
  });
});
