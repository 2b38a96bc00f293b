import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Zones } from '../kinds/types.ts';

const ZoneSchema = z
  .strictObject({
    /** Earlier names of the same boundaries (ISO 10816), so rulesets written for them keep their zones. */
    aliases: z.array(z.string()).default([]),
    standard: z.string().min(1),
    machines: z.string().min(1),
    ab: z.number().positive(),
    bc: z.number().positive(),
    cd: z.number().positive(),
  })
  .refine((zn) => zn.ab < zn.bc && zn.bc < zn.cd, { message: 'boundaries must rise: ab < bc < cd' });

export const ZonePackSchema = z.strictObject({ version: z.number().int().positive(), name: z.string(), zones: z.record(z.string(), ZoneSchema) });
export type ZonePack = z.infer<typeof ZonePackSchema>;

/** The shipped vibration severity zones (ISO 20816-3 groups, ISO 20816-1 / 10816-1 classes), provenance included. */
export const VIBRATION_ZONES: ZonePack = ZonePackSchema.parse(parse(readFileSync(new URL('./packs/vibration-zones.yaml', import.meta.url), 'utf8')));

const ALIASES = new Map(Object.entries(VIBRATION_ZONES.zones).flatMap(([name, z]) => z.aliases.map((a) => [a, name] as const)));

/** Every name a ruleset may use: the current ones, then the earlier ones they replaced. */
export const ZONE_NAMES = [...Object.keys(VIBRATION_ZONES.zones), ...ALIASES.keys()] as [string, ...string[]];

export function zonesOf(name: string): Zones | undefined {
  const current = ALIASES.get(name) ?? name;
  const z = VIBRATION_ZONES.zones[current];
  return z ? { ref: `${current} (${z.standard})`, ab: z.ab, bc: z.bc, cd: z.cd } : undefined;
}
