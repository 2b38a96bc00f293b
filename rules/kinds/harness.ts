import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { DurationSchema, type Finding, MetricIdSchema, type Reading } from '../../core/index.ts';
import { RuleEngine } from '../engine/engine.ts';
import { RulesetSchema } from '../rulesets/schema.ts';

const Offset = DurationSchema;

/** A run of readings: a value, a ramp or a cycle, every so often, after an optional gap. */
const SegmentSchema = z.strictObject({
  metric: MetricIdSchema.optional(),
  every: Offset.prefault('1m'),
  count: z.number().int().positive(),
  value: z.number().optional(),
  /** Linear from the first to the second value over the segment. */
  ramp: z.tuple([z.number(), z.number()]).optional(),
  /** Values repeated in turn. */
  cycle: z.array(z.number()).min(1).optional(),
  /** Skip this much time before the segment (a gap). */
  after: Offset.prefault('0'),
  /** Other metrics sampled at the same times (one sensor's features), each a value or a cycle. */
  with: z.partialRecord(MetricIdSchema, z.union([z.number(), z.array(z.number()).min(1)])).optional(),
});

/** A fixture: one rule, a series of readings (and clock ticks), and the findings it must produce. */
export const FixtureSchema = z.strictObject({
  description: z.string(),
  metric: MetricIdSchema.optional(),
  params: z.record(z.string(), z.unknown()),
  alert: z.record(z.string(), z.unknown()).optional(),
  fault: z.string().default('vibration'),
  /** Vibration zones of the device's asset class, from the shipped pack. */
  zones: z.string().optional(),
  readings: z.array(SegmentSchema),
  /** Other devices of the same model (for fleet rules): each its own readings, beside dev-1's. */
  siblings: z.array(z.strictObject({ id: z.string().min(1), readings: z.array(SegmentSchema) })).default([]),
  ticks: z.array(Offset).default([]),
  /** `device`: which device the finding is on (default dev-1); compared only when the fixture has siblings. */
  expect: z.array(z.strictObject({ event: z.enum(['fire', 'escalate', 'resolve']), severity: z.enum(['warning', 'critical']), at: Offset, metric: z.string().optional(), device: z.string().optional() })),
});
export type Fixture = z.infer<typeof FixtureSchema>;

export const FIXTURE_EPOCH = Date.UTC(2026, 0, 1);

export function loadFixtures(dir: string): { name: string; fixture: Fixture }[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  } catch {
    return [];
  }
  return files.sort().map((f) => ({ name: f.replace(/\.yaml$/, ''), fixture: FixtureSchema.parse(parse(readFileSync(join(dir, f), 'utf8'))) }));
}

/** Runs a fixture through the real engine and returns its findings with times relative to the start. */
export function runFixture(kind: string, f: Fixture): { event: string; severity: string; at: number; metric: string; device: string; finding: Finding }[] {
  // With siblings, every device is one model, so fleet rules have a fleet to compare with.
  const devices = [...(f.zones ? [{ id: 'dev-1', class: 'fixture' }] : []), ...(f.siblings.length > 0 ? [{ id: '*', model: 'fixture-model' }] : [])];
  const ruleset = RulesetSchema.parse({
    version: 1,
    name: 'fixture',
    ...(f.zones ? { assetClasses: { fixture: { vibrationZones: f.zones } } } : {}),
    devices,
    defaults: { for: 0, minSamples: 1, clearFor: 0 },
    rules: [{ id: 'under-test', kind, ...(f.metric ? { metric: f.metric } : {}), fault: f.fault, params: f.params, ...(f.alert ? { alert: f.alert } : {}) }],
  });
  const out: Finding[] = [];
  const engine = new RuleEngine(ruleset, { lateTolerance: 60_000, emit: (x) => out.push(x) });
  const events: { at: number; order: number; run: () => void }[] = [];
  const feed = (deviceId: string, segments: Fixture['readings']) => {
    let t = FIXTURE_EPOCH;
    for (const seg of segments) {
      t += seg.after;
      for (let i = 0; i < seg.count; i++) {
        const value = seg.value ?? (seg.ramp ? seg.ramp[0] + ((seg.ramp[1] - seg.ramp[0]) * i) / Math.max(1, seg.count - 1) : seg.cycle![i % seg.cycle!.length]!);
        const r: Reading = { deviceId, metric: seg.metric ?? f.metric ?? 'vibration_rms', value, ts: t };
        const also = Object.entries(seg.with ?? {}).map(([metric, v]): Reading => ({ deviceId, metric: metric as Reading['metric'], value: typeof v === 'number' ? v : v[i % v.length]!, ts: r.ts }));
        events.push({ at: t, order: events.length, run: () => engine.ingest('site-1', [r, ...also], r.ts) });
        t += seg.every;
      }
    }
  };
  // Siblings first at each instant, so dev-1 is judged against the fleet as it stands then.
  for (const s of f.siblings) feed(s.id, s.readings);
  feed('dev-1', f.readings);
  for (const tick of f.ticks) events.push({ at: FIXTURE_EPOCH + tick, order: events.length, run: () => engine.tick(FIXTURE_EPOCH + tick) });
  events.sort((a, b) => a.at - b.at || a.order - b.order);
  for (const e of events) e.run();
  return out.map((x) => ({ event: x.event, severity: x.severity, at: x.at - FIXTURE_EPOCH, metric: x.metric, device: x.deviceId, finding: x }));
}
