import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, MetricIdSchema, canonicalUnit, parseConfigText, unitOf, CROSS_CHECK, crossCheck } from '../../core/index.ts';
import { ByteOrderSchema, DataTypeSchema, defaultOrder, ordersFor, registerWidth } from './codec.ts';

export const TableSchema = z.enum(['coil', 'discrete', 'holding', 'input']);
export type Table = z.infer<typeof TableSchema>;

export const RegisterSpecSchema = z
  .strictObject({
    /** The catalog metric this value becomes; omit for informational strings (serial number, firmware). */
    metric: MetricIdSchema.optional(),
    /** A label for diagnostics; required for strings. */
    name: z.string().max(64).optional(),
    table: TableSchema,
    /** Protocol address (what goes on the wire) unless the profile says `addressBase: 1`. */
    address: z.number().int().min(0).max(65535),
    type: DataTypeSchema.default('uint16'),
    order: ByteOrderSchema.optional(),
    /** For `bool` in a holding or input register: which bit, 0 = least significant. */
    bit: z.number().int().min(0).max(15).optional(),
    /** For `string`: how many registers. */
    length: z.number().int().min(1).max(123).optional(),
    /** value = raw * scale + offset */
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().optional(),
  })
  .superRefine(
    crossCheck((r, ctx) => {
      const bitTable = r.table === 'coil' || r.table === 'discrete';
      if (bitTable && r.type !== 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `${r.table} values are bits: type must be bool` });
      if (r.type === 'string' && r.length === undefined) ctx.addIssue({ code: 'custom', path: ['length'], message: 'a string needs its length in registers' });
      if (r.type !== 'string' && r.metric === undefined) ctx.addIssue({ code: 'custom', path: ['metric'], message: 'name the catalog metric this value becomes' });
      if (r.type === 'string' && r.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'a string needs a name' });
      if (r.bit !== undefined && (r.type !== 'bool' || bitTable)) ctx.addIssue({ code: 'custom', path: ['bit'], message: 'bit applies to bool values in holding or input registers' });
      if (r.type === 'bool' && !bitTable && r.bit === undefined) ctx.addIssue({ code: 'custom', path: ['bit'], message: 'a bool in a register needs its bit (0-15)' });
      if (r.order !== undefined) {
        const bytes = r.type === 'string' ? 2 : registerWidth(r.type) * 2;
        if (r.order.length !== bytes) ctx.addIssue({ code: 'custom', path: ['order'], message: `a ${r.type} takes one of ${ordersFor(bytes).join(', ')}` });
      }
      if (r.metric && r.unit !== undefined && canonicalUnit(r.metric, r.unit) === undefined) {
        ctx.addIssue({ code: 'custom', path: ['unit'], message: `${r.metric} is in ${unitOf(r.metric) || 'no unit'}; convert with scale and offset` });
      }
    }),
    CROSS_CHECK,
  );
export type RegisterSpec = z.infer<typeof RegisterSpecSchema>;

export const ProfileSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, . _ -'),
    description: z.string().optional(),
    manufacturer: z.string().optional(),
    /** 0: addresses are protocol addresses. 1: the datasheet counts from 1 (register 1 is address 0). */
    addressBase: z.union([z.literal(0), z.literal(1)]).default(0),
    /** Unmapped registers a read may span to save a request (0 never reads an unmapped register). */
    maxGap: z.number().int().min(0).max(120).default(8),
    /** Registers per read at most (the protocol allows 125; some devices fewer). */
    maxRegistersPerRead: z.number().int().min(1).max(125).default(125),
    registers: z.array(RegisterSpecSchema).min(1),
  })
  .superRefine(
    crossCheck((p, ctx) => {
      p.registers.forEach((r, i) => {
        if (r.address - p.addressBase < 0) ctx.addIssue({ code: 'custom', path: ['registers', i, 'address'], message: 'below the first address of a 1-based profile' });
      });
      const metrics = new Set<string>();
      p.registers.forEach((r, i) => {
        if (!r.metric) return;
        if (metrics.has(r.metric)) ctx.addIssue({ code: 'custom', path: ['registers', i, 'metric'], message: `${r.metric} is mapped twice` });
        metrics.add(r.metric);
      });
    }),
    CROSS_CHECK,
  );
export type Profile = z.infer<typeof ProfileSchema>;

/** A register with its protocol address, width and resolved byte order: what the planner and decoder use. */
export interface MappedRegister {
  spec: RegisterSpec;
  address: number;
  width: number;
}

export function mapRegisters(p: Profile): MappedRegister[] {
  return p.registers.map((spec) => ({
    spec: spec.order === undefined && spec.type !== 'bool' && spec.type !== 'string' ? { ...spec, order: defaultOrder(spec.type) } : spec,
    address: spec.address - p.addressBase,
    width: spec.table === 'coil' || spec.table === 'discrete' ? 1 : registerWidth(spec.type, spec.length),
  }));
}

export const BUILTIN_PROFILES = fileURLToPath(new URL('../profiles/', import.meta.url));

/** Profiles by name from YAML files and folders of them (the shipped ones first; later ones override). */
export function loadProfiles(paths: readonly string[]): Map<string, Profile> {
  const out = new Map<string, Profile>();
  const issues: ConfigIssue[] = [];
  const files: string[] = [];
  for (const p of [BUILTIN_PROFILES, ...paths]) {
    try {
      if (statSync(p).isDirectory()) files.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
      else files.push(p);
    } catch {
      issues.push({ path: p, message: 'profile file or folder not found' });
    }
  }
  for (const f of files) {
    try {
      const profile = parseConfigText(ProfileSchema, readFileSync(f, 'utf8'), {}, basename(f));
      out.set(profile.name, profile);
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues.map((i) => ({ path: `${f}: ${i.path}`, message: i.message })));
      else throw err;
    }
  }
  if (issues.length > 0) throw new ConfigError('Modbus profiles', issues);
  return out;
}
