import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Zones } from '../kinds/types.ts';

const ZoneSchema = z
  .strictObject({ standard: z.string().min(1), machines: z.string().min(1), ab: z.number().positive(), bc: z.number().positive(), cd: z.number().positive() })
  .refine((zn) => zn.ab < zn.bc && zn.bc < zn.cd, { message: 'boundaries must rise: ab < bc < cd' });

export const ZonePackSchema = z.strictObject({ version: z.literal(1), name: z.string(), zones: z.record(z.string(), ZoneSchema) });
export type ZonePack = z.infer<typeof ZonePackSchema>;

/** The shipped vibration severity zones (ISO 10816-3 groups, ISO 10816-1 classes), provenance included. */
export const VIBRATION_ZONES: ZonePack = ZonePackSchema.parse(parse(readFileSync(new URL('./packs/vibration-zones.yaml', import.meta.url), 'utf8')));

export const ZONE_NAMES = Object.keys(VIBRATION_ZONES.zones) as [string, ...string[]];

export function zonesOf(name: string): Zones | undefined {
  const z = VIBRATION_ZONES.zones[name];
  return z ? { ref: `${name} (${z.standard})`, ab: z.ab, bc: z.bc, cd: z.cd } : undefined;
}
