import { z } from 'zod';
import { DeviceIdSchema, DurationSchema, SiteIdSchema, parseDuration, CROSS_CHECK, crossCheck } from '../../core/index.ts';
import { FaultKindSchema, SIM_METRICS, SensorFaultKindSchema, type DeviceModel } from '../signals/models.ts';

/** A point in time: relative to the start of the run (`-7d`, `+2h`, `0`) or absolute ISO 8601. */
export const TimeRefSchema = z.union([z.string(), z.number()]).refine((v) => (typeof v !== 'number' || v === 0) && resolveTime(v, 0) !== undefined, {
  message: 'a relative time with a unit like -7d, +2h, 0, or an ISO 8601 date',
});

export function resolveTime(v: string | number, origin: number): number | undefined {
  if (typeof v === 'number') return origin + v;
  const m = /^([+-])?\s*(.+)$/.exec(v.trim());
  if (m && (m[1] !== undefined || /^(0|\d+(\.\d+)?(ms|s|m|h|d|w))$/.test(m[2]!))) {
    const d = parseDuration(m[2]!);
    if (d !== undefined) return origin + (m[1] === '-' ? -d : d);
  }
  const t = Date.parse(v);
  return Number.isFinite(t) && /^\d{4}-/.test(v) ? t : undefined;
}

const SimMetricSchema = z.enum(SIM_METRICS);

export const ScenarioDeviceSchema = z.strictObject({
  id: DeviceIdSchema,
  seed: z.number().int().default(1),
  /** The equipment model, for the server's ruleset device entries (faults per model, similar cases). */
  model: z.string().trim().min(1).max(100).optional(),
  vibration: z.number().positive().default(1.4),
  temperature: z.number().default(48),
  ambient: z.number().default(22),
  fault: z.strictObject({ kind: FaultKindSchema, onset: TimeRefSchema, failsAt: TimeRefSchema }).optional(),
  /** Serve this device as a Modbus TCP slave (polled live by the gateway) instead of publishing over MQTT. */
  modbus: z.strictObject({ profile: z.string().min(1), unitId: z.number().int().min(1).max(247).default(1) }).optional(),
  sensorFaults: z
    .array(
      z.strictObject({
        kind: SensorFaultKindSchema,
        metric: SimMetricSchema.optional(),
        from: TimeRefSchema,
        to: TimeRefSchema,
        /** For spikes: the share of samples that spike. */
        probability: z.number().min(0).max(1).default(0.02),
      }),
    )
    .default([]),
  /**
   * Times the machine is stopped: its vibration falls to the sensor's noise floor and its bearings cool
   * towards ambient. `data: false` is a stop with the acquisition off too (a weekend): nothing is sent.
   */
  stops: z.array(z.strictObject({ from: TimeRefSchema, to: TimeRefSchema, data: z.boolean().default(true) })).default([]),
});

export const ScenarioSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().min(1),
  description: z.string().optional(),
  site: SiteIdSchema,
  /** Where simulated time begins, usually in the past so history is replayed quickly. */
  start: TimeRefSchema.default('0'),
  /** Where it ends; omit to keep running in real time once caught up. */
  end: TimeRefSchema.optional(),
  /** Simulated ms per real ms while simulated time is behind the wall clock. */
  speed: z.number().positive().max(1e7).default(1),
  sampleEvery: DurationSchema.prefault('1m'),
  /** Sample interval once the simulation has caught up with the wall clock. */
  liveSampleEvery: DurationSchema.prefault('5s'),
  publish: z
    .strictObject({
      /** `object`: one JSON object of all metrics per sample on `sensors/{device}`; `per-metric`: plain numbers on `sensors/{device}/{metric}`. */
      format: z.enum(['object', 'per-metric']).default('object'),
      prefix: z.string().default('sensors'),
      qos: z.union([z.literal(0), z.literal(1)]).default(1),
    })
    .prefault({}),
  /** Where the scenario's Modbus devices listen (one TCP server, one unit id per device). */
  modbus: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(1502) }).optional(),
  devices: z.array(ScenarioDeviceSchema).min(1),
}).superRefine(
  crossCheck((s, ctx) => {
    const units = new Set<number>();
    s.devices.forEach((d, i) => {
      if (!d.modbus) return;
      if (!s.modbus) ctx.addIssue({ code: 'custom', path: ['devices', i, 'modbus'], message: 'a Modbus device needs the scenario-level modbus: { port }' });
      if (units.has(d.modbus.unitId)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'modbus', 'unitId'], message: `unit id ${d.modbus.unitId} is used twice` });
      units.add(d.modbus.unitId);
    });
  }),
  CROSS_CHECK,
);
export type Scenario = z.infer<typeof ScenarioSchema>;

export interface GroundTruth {
  deviceId: string;
  fault: string;
  onset: number;
  failsAt: number;
}

/** Device models and ground truth with every time resolved against the run's start (wall clock). */
export function resolveScenario(s: Scenario, origin: number): { models: DeviceModel[]; truth: GroundTruth[]; start: number; end: number | undefined } {
  const at = (v: string | number) => resolveTime(v, origin)!;
  const models: DeviceModel[] = s.devices.map((d) => ({
    id: d.id,
    seed: d.seed,
    vibration: d.vibration,
    temperature: d.temperature,
    ambient: d.ambient,
    ...(d.fault ? { fault: { kind: d.fault.kind, onset: at(d.fault.onset), failsAt: at(d.fault.failsAt) } } : {}),
    sensorFaults: d.sensorFaults.map((f) => ({ kind: f.kind, ...(f.metric ? { metric: f.metric } : {}), from: at(f.from), to: at(f.to), probability: f.probability })),
    stops: d.stops.map((x) => ({ from: at(x.from), to: at(x.to), data: x.data })),
  }));
  const truth = models.flatMap((m) => (m.fault ? [{ deviceId: m.id, fault: m.fault.kind, onset: m.fault.onset, failsAt: m.fault.failsAt }] : []));
  return { models, truth, start: at(s.start), end: s.end === undefined ? undefined : at(s.end) };
}
