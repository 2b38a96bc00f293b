import { z } from 'zod';
import { DurationSchema, FaultSchema, MetricIdSchema, CROSS_CHECK, crossCheck, configJsonSchema } from '../../core/index.ts';
import { KINDS, kindOf } from '../kinds/registry.ts';
import { ZONE_NAMES } from './zones.ts';

export const RULESET_VERSION = 1;

const slug = (what: string) => z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, `${what} must be lowercase letters, digits, '_', '.' or '-'`);
export const RuleIdSchema = slug('a rule id');
const ClassIdSchema = slug('an asset class id');
const MachineIdSchema = slug('a machine id');

/** How an alert debounces, clears and damps flapping; every field optional here, filled from `defaults`. */
export const AlertInputSchema = z.strictObject({
  for: DurationSchema.optional(),
  clearFor: DurationSchema.optional(),
  minSamples: z.number().int().min(1).optional(),
  /** Where a level clears, as a fraction of its limit on the good side (0.1: 10% below an upper limit). */
  hysteresis: z.number().min(0).max(0.9).optional(),
  flap: z.strictObject({ window: DurationSchema, max: z.number().int().min(1) }).optional(),
});
export type AlertInput = z.infer<typeof AlertInputSchema>;

const AlertDefaultsSchema = z.strictObject({
  for: DurationSchema.prefault('10m'),
  clearFor: DurationSchema.prefault('30m'),
  minSamples: z.number().int().min(1).default(3),
  hysteresis: z.number().min(0).max(0.9).default(0.1),
  flap: z.strictObject({ window: DurationSchema.prefault('24h'), max: z.number().int().min(1).default(1) }).prefault({}),
});

const MatchSchema = z.strictObject({
  sites: z.array(z.string()).min(1).optional(),
  /** Device ids; `*` matches any run of characters (`fan-*`). */
  devices: z.array(z.string()).min(1).optional(),
  tags: z.array(z.string()).min(1).optional(),
  classes: z.array(z.string()).min(1).optional(),
});
export type Match = z.infer<typeof MatchSchema>;

const ParamsSchema = z.record(z.string(), z.unknown());

export const RuleSchema = z.strictObject({
  id: RuleIdSchema,
  kind: z.enum(KINDS.map((k) => k.kind) as [string, ...string[]]),
  description: z.string().optional(),
  /** The metric (or metrics, one alert each) the rule watches; device-wide kinds (silence, compound) take none. */
  metric: z.union([MetricIdSchema, z.array(MetricIdSchema).min(1)]).optional(),
  /** The problem it points at: tickets deduplicate on (device, fault). */
  fault: FaultSchema,
  enabled: z.boolean().default(true),
  match: MatchSchema.optional(),
  params: ParamsSchema.default({}),
  alert: AlertInputSchema.optional(),
}).superRefine(
  crossCheck((r, ctx) => {
    // Checked per rule, so a ruleset with a broken rule still reports the params of every other one.
    const kind = kindOf(r.kind)!;
    if (kind.scope === 'metric' && r.metric === undefined) ctx.addIssue({ code: 'custom', path: ['metric'], message: `a ${r.kind} rule needs a metric` });
    if (kind.scope === 'device' && r.metric !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['metric'], message: `a ${r.kind} rule watches the whole device: put the metric in its params` });
    }
    issuesOf(kind.params, r.params, ['params'], ctx);
  }),
  CROSS_CHECK,
);
export type Rule = z.infer<typeof RuleSchema>;

const OverrideSchema = z.strictObject({
  params: ParamsSchema.optional(),
  alert: AlertInputSchema.optional(),
  enabled: z.boolean().optional(),
});
export type Override = z.infer<typeof OverrideSchema>;

const AssetClassSchema = z.strictObject({
  description: z.string().optional(),
  /** The vibration severity zones for this class of machine, from the shipped pack. Chosen, never guessed. */
  vibrationZones: z.enum(ZONE_NAMES).optional(),
  overrides: z.record(z.string(), OverrideSchema).default({}),
});

export const DeviceEntrySchema = z.strictObject({
  /** A device id, or a pattern with `*`. */
  id: z.string().min(1),
  site: z.string().optional(),
  class: z.string().optional(),
  /**
   * Devices that share a machine or shaft: a vibration finding on one of them while another already
   * fires is filed as transmitted evidence on that one's ticket, not as a problem of its own.
   */
  machine: MachineIdSchema.optional(),
  /** The equipment model (`acme-fan-710`): faults are counted per model, and cases of the same model rank first. */
  model: z.string().trim().min(1).max(100).optional(),
  firmware: z.string().trim().min(1).max(100).optional(),
  /** When the machine went into service (`2024-03-01`): the engineering report's time between failures counts from it. */
  installedAt: z.iso.date().optional(),
  tags: z.array(z.string()).default([]),
  overrides: z.record(z.string(), OverrideSchema).default({}),
});

const RunningIndicatorSchema = z
  .strictObject({
    metric: MetricIdSchema,
    /** Running while the value is above this (speed in rpm, motor current in A). */
    above: z.number().optional(),
    /** Running while the value is above this fraction of its usual running level (vibration collapses when a machine stops). */
    ratio: z.number().positive().max(1).optional(),
  })
  .refine((i) => (i.above === undefined) !== (i.ratio === undefined), { message: 'give either above or ratio' });

/**
 * Running or stopped, told from the signal itself. While a device is stopped, and for `warmUp` after it
 * starts again, its rules neither learn nor judge (a stop is not a fault, a restart is not a recovery,
 * and a stop is not normal). A gap in its data longer than `gap` counts as a stop.
 */
export const OperatingStateSchema = z.strictObject({
  /** In order of preference: a device is judged by the first indicator it reports. */
  running: z.array(RunningIndicatorSchema).min(1),
  gap: DurationSchema.prefault('2h'),
  warmUp: DurationSchema.prefault('30m'),
});
export type OperatingState = z.infer<typeof OperatingStateSchema>;

export const RulesetSchema = z
  .strictObject({
    version: z.literal(RULESET_VERSION),
    name: z.string().min(1),
    description: z.string().optional(),
    defaults: AlertDefaultsSchema.prefault({}),
    assetClasses: z.record(ClassIdSchema, AssetClassSchema).default({}),
    /** Which asset class and tags a device has, and its own overrides. Later entries win. */
    devices: z.array(DeviceEntrySchema).default([]),
    operatingState: OperatingStateSchema.optional(),
    rules: z.array(RuleSchema).min(1),
  })
  .superRefine(
    crossCheck((rs, ctx) => {
      const rules = new Map<string, Rule>();
      rs.rules.forEach((r, i) => {
        if (rules.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `rule id ${r.id} is used twice` });
        rules.set(r.id, r);
        for (const c of r.match?.classes ?? []) {
          if (!(c in rs.assetClasses)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'match', 'classes'], message: `unknown asset class ${c}` });
        }
      });
      const checkOverrides = (overrides: Record<string, Override>, path: (string | number)[]) => {
        for (const [id, o] of Object.entries(overrides)) {
          const rule = rules.get(id);
          if (!rule) {
            ctx.addIssue({ code: 'custom', path: [...path, id], message: `no rule with id ${id}` });
            continue;
          }
          if (o.params) issuesOf(kindOf(rule.kind)!.params, { ...rule.params, ...o.params }, [...path, id, 'params'], ctx);
        }
      };
      for (const [id, c] of Object.entries(rs.assetClasses)) checkOverrides(c.overrides, ['assetClasses', id, 'overrides']);
      rs.devices.forEach((d, i) => {
        if (d.class !== undefined && !(d.class in rs.assetClasses)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'class'], message: `unknown asset class ${d.class}` });
        checkOverrides(d.overrides, ['devices', i, 'overrides']);
      });
    }),
    CROSS_CHECK,
  );
export type Ruleset = z.infer<typeof RulesetSchema>;
export type RulesetInput = z.input<typeof RulesetSchema>;

function issuesOf(schema: z.ZodType, value: unknown, path: (string | number)[], ctx: z.RefinementCtx): void {
  const r = schema.safeParse(value);
  if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: [...path, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
}

/** The ruleset format as JSON Schema (input side: durations may be strings), for editors and the console. */
export function rulesetJsonSchema(): Record<string, unknown> {
  return configJsonSchema(RulesetSchema, 'Vigil ruleset');
}
