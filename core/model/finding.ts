import { z } from 'zod';
import { DeviceIdSchema } from './ids.ts';
import { MetricIdSchema } from './metrics.ts';

export const SeveritySchema = z.enum(['warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

/** What happened to an alert: it started, got worse within the same alert, or ended. */
export const FindingEventSchema = z.enum(['fire', 'escalate', 'resolve']);
export type FindingEvent = z.infer<typeof FindingEventSchema>;

/**
 * The kind of problem a rule points at. Tickets deduplicate on (device, fault) and pick the suggested
 * action by it, so rules that see the same fault from different angles share one ticket.
 */
export const FaultSchema = z.enum([
  'bearing_wear',
  'imbalance',
  'misalignment',
  'lubrication',
  'overheating',
  'vibration',
  'sensor_fault',
  'device_offline',
  /** A customer's report the desk has not diagnosed yet. */
  'unspecified',
]);
export type Fault = z.infer<typeof FaultSchema>;

/** A rule's verdict on one (device, metric), emitted when its alert fires, escalates or resolves. */
export const FindingSchema = z.strictObject({
  ruleId: z.string().min(1),
  deviceId: DeviceIdSchema,
  /** The metric the rule watches; `*` for rules about the whole device (silence). */
  metric: z.union([MetricIdSchema, z.literal('*')]),
  severity: SeveritySchema,
  event: FindingEventSchema,
  fault: FaultSchema,
  /** Sample time (epoch ms) of the reading or clock tick that decided it. */
  at: z.number().int(),
  /** Kind-specific figures: the value, the limits, the baseline, the predicted crossing. */
  evidence: z.record(z.string(), z.unknown()),
  /** `device:fault`: findings with one key are one problem, and at most one open ticket. */
  dedupeKey: z.string().min(1),
  site: z.string().optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

/**
 * A generic vibration finding is a symptom; these faults are diagnoses of it. Tickets file the
 * symptom under a diagnosis of the same device, so the two are one problem.
 */
export const VIBRATION_DIAGNOSES: readonly Fault[] = ['bearing_wear', 'imbalance', 'misalignment', 'lubrication'];

/** The distinct problems (tickets) a set of fired faults of one device makes. */
export function problemsOf(faults: Iterable<Fault>): Fault[] {
  const set = new Set(faults);
  if (set.has('vibration') && VIBRATION_DIAGNOSES.some((f) => set.has(f))) set.delete('vibration');
  return [...set].sort();
}

export function dedupeKeyOf(deviceId: string, fault: Fault): string {
  return `${deviceId}:${fault}`;
}

/** Faults that travel through a shaft or frame: a neighbour's sensor feels them too. */
export function isVibrationFault(f: Fault): boolean {
  return f === 'vibration' || VIBRATION_DIAGNOSES.includes(f);
}

/**
 * The device a finding's vibration comes from, when the rule engine filed it as transmitted from a
 * neighbour on the same machine (`evidence.transmitted`, `evidence.source`); undefined for a device's own.
 */
export function transmittedFrom(f: Pick<Finding, 'evidence'>): string | undefined {
  const { transmitted, source } = f.evidence;
  return transmitted === true && typeof source === 'string' ? source : undefined;
}
