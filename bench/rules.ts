import type { MetricId, Reading } from '../core/index.ts';
import { RuleEngine, defaultRulesetText, parseRuleset } from '../rules/index.ts';

const METRICS: { metric: MetricId; base: number; noise: number }[] = [
  { metric: 'vibration_rms', base: 2, noise: 0.08 },
  { metric: 'vibration_accel_rms', base: 0.1, noise: 0.004 },
  { metric: 'vibration_kurtosis', base: 3, noise: 0.15 },
  { metric: 'vibration_crest', base: 3, noise: 0.06 },
  { metric: 'vibration_peak', base: 0.3, noise: 0.02 },
  { metric: 'bearing_temp', base: 50, noise: 0.3 },
];

/**
 * `without-new`: the default ruleset as it was before the control chart, the health index and the
 * operating state were added, so the bench prints what they cost beside what the default costs now.
 */
export type RulesVariant = 'default' | 'without-new' | 'no-opstate' | 'no-hi' | 'no-cusum';

function rulesetFor(variant: RulesVariant) {
  const rs = parseRuleset(defaultRulesetText().replace('devices: []', 'devices:\n  - { id: "m-*", class: pump-medium-rigid }'));
  if (variant === 'default') return rs;
  if (variant === 'no-opstate') return { ...rs, operatingState: undefined };
  if (variant === 'no-hi') return { ...rs, rules: rs.rules.filter((r) => r.kind !== 'health-index') };
  if (variant === 'no-cusum') return { ...rs, rules: rs.rules.filter((r) => r.kind !== 'cusum') };
  return { ...rs, operatingState: undefined, rules: rs.rules.filter((r) => r.kind !== 'cusum' && r.kind !== 'health-index') };
}

/**
 * Reading evaluations per second of the default ruleset (every machine in an asset class, so the zone
 * rules run too) over 10,000 device-metrics on one core, in the steady state after two days of data
 * (baselines learned, trend windows full); and the engine state per device-metric as snapshotted.
 */
export function benchRules(deviceMetrics = 10_000, variant: RulesVariant = 'default'): { readingsPerS: number; evaluationsPerS: number; rulesPerReading: number; stateBytesPerDeviceMetric: number; snapshotMs: number; changedSnapshotMs: number; changedSnapshotRows: number } {
  const ruleset = rulesetFor(variant);
  const engine = new RuleEngine(ruleset, { lateTolerance: 300_000, emit: () => undefined });
  const devices = Math.ceil(deviceMetrics / METRICS.length);
  const readings: Reading[] = [];
  for (let d = 0; d < devices; d++) for (const m of METRICS) readings.push({ deviceId: `m-${d}`, metric: m.metric, value: m.base, ts: 0 });
  // Values for 17 rounds, precomputed so that the timed loop is the engine's.
  const ROUNDS = 17;
  const values = new Float64Array(ROUNDS * readings.length);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let k = 0; k < ROUNDS; k++) for (let i = 0; i < readings.length; i++) values[k * readings.length + i] = METRICS[i % METRICS.length]!.base + rand() * METRICS[i % METRICS.length]!.noise * 2;
  const STEP = 300_000;
  const t0 = Date.UTC(2026, 0, 1);
  let round = 0;
  const play = (rounds: number) => {
    for (let n = 0; n < rounds; n++, round++) {
      const ts = t0 + round * STEP;
      const off = (round % ROUNDS) * readings.length;
      for (let i = 0; i < readings.length; i++) {
        const r = readings[i]!;
        r.ts = ts;
        r.value = values[off + i]!;
      }
      for (let i = 0; i < readings.length; i += 500) engine.ingest('bench', readings.slice(i, i + 500), ts);
    }
  };
  play(Math.ceil((2 * 86_400_000) / STEP) + 12); // two days and an hour: past learning, windows full
  const before = { readings: engine.stats.readings, evaluations: engine.stats.evaluations };
  const start = performance.now();
  play(300);
  const secs = (performance.now() - start) / 1000;
  const readingsDone = engine.stats.readings - before.readings;
  const evals = engine.stats.evaluations - before.evaluations;
  const s0 = performance.now();
  let bytes = 0;
  for (const [k, v] of engine.snapshot()) bytes += k.length + v.length;
  const snapshotMs = performance.now() - s0;
  // A tenth of the fleet reports before the next snapshot, which writes only what changed.
  const ts = t0 + round++ * STEP;
  const tenth = readings.slice(0, Math.ceil(readings.length / 10)).map((r) => ({ ...r, ts }));
  for (let i = 0; i < tenth.length; i += 500) engine.ingest('bench', tenth.slice(i, i + 500), ts);
  const c0 = performance.now();
  let changedRows = 0;
  for (const [k, v] of engine.snapshot({ changedOnly: true })) changedRows += k.length + v.length > 0 ? 1 : 0;
  const changedSnapshotMs = performance.now() - c0;
  return {
    readingsPerS: Math.round(readingsDone / secs),
    evaluationsPerS: Math.round(evals / secs),
    rulesPerReading: Math.round((evals / readingsDone) * 100) / 100,
    stateBytesPerDeviceMetric: Math.round(bytes / readings.length),
    snapshotMs: Math.round(snapshotMs),
    changedSnapshotMs: Math.round(changedSnapshotMs),
    changedSnapshotRows: changedRows,
  };
}

// Run alone: node --import tsx bench/rules.ts
if (process.argv[1]?.endsWith('rules.ts')) console.log({ default: benchRules(), withoutNew: benchRules(10_000, 'without-new') });
