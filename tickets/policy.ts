import { z } from 'zod';
import { DurationSchema, type Fault, globMatch, FaultSchema, type Priority, PrioritySchema, type Severity } from '../core/index.ts';

export const CriticalitySchema = z.enum(['low', 'medium', 'high']);
export type Criticality = z.infer<typeof CriticalitySchema>;
export const TierSchema = z.enum(['basic', 'standard', 'premium']);
export type Tier = z.infer<typeof TierSchema>;

const PRIORITIES = PrioritySchema.options;
const Sla = (response: string, resolution: string) => z.strictObject({ response: DurationSchema, resolution: DurationSchema }).prefault({ response, resolution });
const glob = z.string().min(1).max(100);
const perTier = (basic: boolean, standard: boolean, premium: boolean) =>
  z.strictObject({ basic: z.boolean().default(basic), standard: z.boolean().default(standard), premium: z.boolean().default(premium) }).prefault({});
const share = (d: number) => z.number().min(0).max(1).default(d);

export const TicketPolicySchema = z
  .strictObject({
    /** Priority by finding severity and asset criticality, before the customer tier shifts it. */
    priority: z
      .strictObject({
        critical: z.strictObject({ high: PrioritySchema.default('P1'), medium: PrioritySchema.default('P2'), low: PrioritySchema.default('P3') }).prefault({}),
        warning: z.strictObject({ high: PrioritySchema.default('P2'), medium: PrioritySchema.default('P3'), low: PrioritySchema.default('P4') }).prefault({}),
      })
      .prefault({}),
    /** Steps a customer tier moves the priority: -1 is one step more urgent. Clamped to P1..P4. */
    tierShift: z.strictObject({ basic: z.number().int().min(-3).max(3).default(1), standard: z.number().int().min(-3).max(3).default(0), premium: z.number().int().min(-3).max(3).default(-1) }).prefault({}),
    /** Faults that put people or plant at risk: always P1, whatever the severity, asset or customer. */
    safetyFaults: z.array(FaultSchema).default(['overheating']),
    sla: z
      .strictObject({ P1: Sla('1h', '8h'), P2: Sla('4h', '24h'), P3: Sla('1d', '5d'), P4: Sla('3d', '10d') })
      .prefault({}),
    sites: z.record(z.string(), z.strictObject({ region: z.string().min(1).default('default'), tier: TierSchema.default('standard'), customer: z.string().optional() })).default({}),
    /** Asset details by device id pattern (`*` matches any run); the first match wins. */
    assets: z.array(z.strictObject({ devices: z.array(glob).min(1), criticality: CriticalitySchema.default('medium'), equipment: z.string().min(1).optional() })).default([]),
    /** Dispatch groups: the first rule whose region and equipment patterns match; else `template`. */
    dispatch: z
      .strictObject({
        rules: z.array(z.strictObject({ region: glob.default('*'), equipment: glob.default('*'), group: z.string().min(1) })).default([]),
        /** `{region}` and `{equipment}` are filled in. */
        template: z.string().min(1).default('{region}-{equipment}'),
      })
      .prefault({}),
    /** After the fix: the customer's acceptance, the return visit, and when a fix counts as first-time. */
    service: z
      .strictObject({
        /** Per tier: the customer must accept the fix (on site or through the signed link) before the return visit. */
        acceptance: perTier(false, false, false),
        returnVisit: z
          .strictObject({
            /** Per tier: only the return visit's answer (or no answer in time) closes the ticket; the desk cannot. */
            required: perTier(false, false, false),
            /** A resolved or accepted ticket with no answer by then closes as `no_response`. */
            closeAfter: DurationSchema.prefault('7d'),
          })
          .prefault({}),
        /** A fix counts as first-time when nothing for the same device and problem opens or reopens within this. */
        firstFix: z.strictObject({ window: DurationSchema.prefault('30d') }).prefault({}),
      })
      .prefault({}),
    /** Complaints about the service itself: a deadline per grade, and how far back a repeat is looked for. */
    complaints: z
      .strictObject({
        grades: z
          .strictObject({ crisis: Sla('15m', '1d'), high: Sla('4h', '3d'), important: Sla('1d', '7d'), routine: Sla('3d', '14d') })
          .prefault({}),
        repeatWindow: DurationSchema.prefault('90d'),
      })
      .prefault({}),
    /** The desk's targets; a KPI below its target shows red and raises `kpi.below_target` once per period. */
    targets: z
      .strictObject({
        responseMinutes: z.number().positive().default(30),
        firstTimeFix: share(0.85),
        resolution: share(0.95),
        satisfaction: share(0.9),
        /** `kpi.below_target` is raised only for a figure that counts at least this many tickets. */
        minTickets: z.number().int().min(1).default(5),
      })
      .prefault({}),
  })
  .prefault({});
export type TicketPolicy = z.infer<typeof TicketPolicySchema>;

export interface Asset {
  site: string | null;
  region: string;
  tier: Tier;
  customer: string | null;
  criticality: Criticality;
  equipment: string;
}

/** What the policy knows of a device: from its site entry, its asset entry, and its id as a last resort. */
export function assetOf(policy: TicketPolicy, deviceId: string, site: string | null): Asset {
  const s = site !== null ? policy.sites[site] : undefined;
  const a = policy.assets.find((x) => x.devices.some((p) => globMatch(p, deviceId)));
  return {
    site,
    region: s?.region ?? 'default',
    tier: s?.tier ?? 'standard',
    customer: s?.customer ?? null,
    criticality: a?.criticality ?? 'medium',
    // `pump-3` is a pump: ids that name the machine are the common case, and a wrong guess only
    // changes the dispatch group, which an asset entry corrects.
    equipment: a?.equipment ?? (/^[a-z]+/i.exec(deviceId)?.[0]?.toLowerCase() || 'equipment'),
  };
}

export function priorityOf(policy: TicketPolicy, severity: Severity, fault: Fault, asset: Asset): Priority {
  if (policy.safetyFaults.includes(fault)) return 'P1';
  const base = PRIORITIES.indexOf(policy.priority[severity][asset.criticality]);
  const shifted = Math.min(PRIORITIES.length - 1, Math.max(0, base + policy.tierShift[asset.tier]));
  return PRIORITIES[shifted]!;
}

/** The more urgent of two priorities. */
export function higherPriority(a: Priority, b: Priority): Priority {
  return PRIORITIES.indexOf(a) <= PRIORITIES.indexOf(b) ? a : b;
}

/** One step more urgent (an SLA escalation); P1 stays P1. */
export function escalate(p: Priority): Priority {
  return PRIORITIES[Math.max(0, PRIORITIES.indexOf(p) - 1)]!;
}

export function slaOf(policy: TicketPolicy, priority: Priority, from: number): { respondBy: number; resolveBy: number } {
  const s = policy.sla[priority];
  return { respondBy: from + s.response, resolveBy: from + s.resolution };
}

export function dispatchGroupOf(policy: TicketPolicy, asset: Asset): string {
  const r = policy.dispatch.rules.find((x) => globMatch(x.region, asset.region) && globMatch(x.equipment, asset.equipment));
  return r ? r.group : policy.dispatch.template.replaceAll('{region}', asset.region).replaceAll('{equipment}', asset.equipment);
}
