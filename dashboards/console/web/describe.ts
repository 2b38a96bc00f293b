import { time } from './dom.ts';

/**
 * Evidence and rule parameters as a person reads them: sentences with units spelled out and times in
 * the browser's local time, instead of JSON with epoch milliseconds.
 */
const num = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 3 })) : String(v));

function duration(ms: number | string): string {
  if (typeof ms === 'string') return ms; // as written in a ruleset: `7d`
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, name] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${ms} ms`;
}

/** Keys whose numbers are points in time (epoch ms) or durations (ms). */
const TIMES = new Set(['predictedCrossing', 'stuckSince', 'lastHeard', 'since', 'firedAt', 'at', 'predictedLimitAt']);
const DURATIONS = new Set(['window', 'after', 'per', 'within', 'learn', 'halfLife', 'for', 'clearFor']);

const LABELS: Record<string, string> = {
  value: 'value',
  warning: 'warning limit',
  critical: 'critical limit',
  limit: 'limit',
  baseline: 'learned normal',
  deviation: 'usual deviation',
  score: 'score',
  measure: 'measured as',
  learnedFrom: 'learned from',
  slopePerDay: 'trend per day',
  fit: 'trend fit (R²)',
  predictedCrossing: 'predicted to cross the limit',
  rate: 'rate',
  samples: 'unchanged samples',
  stuckSince: 'unchanged since',
  lastHeard: 'last heard',
  mode: 'when',
  z: 'deviations from normal',
  sum: 'shift accumulated (deviations)',
  k: 'allowance (deviations)',
  distance: 'distance from the joint normal (deviations)',
  normal: 'joint normal',
  source: 'felt from',
  machine: 'on machine',
};

function phrase(key: string, v: unknown): string | undefined {
  if (v === null || v === undefined) return key === 'predictedCrossing' ? 'no limit crossing predicted' : undefined;
  const label = LABELS[key] ?? key.replace(/([A-Z])/g, ' $1').toLowerCase();
  if (key === 'zones' && v === true) return 'limits from the vibration zones of the asset class';
  if (key === 'zone' && v === true) return 'limit from the vibration zones of the asset class';
  if (typeof v === 'boolean') return `${label} ${v ? 'yes' : 'no'}`;
  if (TIMES.has(key) && typeof v === 'number') return `${label} ${time(v)}`;
  if (DURATIONS.has(key) && typeof v === 'number') return `${label} ${duration(v)}`;
  if (key === 'learnedFrom') return `learned from ${num(v)} samples`;
  if (key === 'zones' && typeof v === 'object') {
    const z = v as { standard?: string; ab?: number; bc?: number; cd?: number };
    return `zones of ${z.standard ?? 'the standard'} (A/B ${num(z.ab)}, B/C ${num(z.bc)}, C/D ${num(z.cd)})`;
  }
  if (key === 'lead' && typeof v === 'object') {
    const l = v as { warning?: number | string; critical?: number | string };
    return `warns ${l.warning !== undefined ? duration(l.warning) : '?'} and turns critical ${l.critical !== undefined ? duration(l.critical) : '?'} before the crossing`;
  }
  if (key === 'conditions' && Array.isArray(v)) {
    return `conditions: ${v.map((c: Record<string, unknown>) => `${String(c.metric ?? c.kind)} (${clauses(Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'metric' && k !== 'kind' && k !== 'level')))})`).join('; ')}`;
  }
  if (typeof v === 'object') return `${label} ${Object.entries(v as Record<string, unknown>).map(([k, x]) => phrase(k, x)).filter(Boolean).join(', ')}`;
  return `${label} ${typeof v === 'number' ? num(v) : String(v)}`;
}

/** "value 7.1, warning limit 4.5, critical limit 7.1, learned normal 2.3 …" as one sentence. */
export function describeEvidence(evidence: Record<string, unknown>): string {
  const text = clauses(evidence);
  return text ? `${text[0]!.toUpperCase()}${text.slice(1)}.` : 'No figures recorded.';
}

function clauses(evidence: Record<string, unknown>): string {
  return Object.entries(evidence)
    .map(([k, v]) => phrase(k, v))
    .filter((p): p is string => p !== undefined)
    .join(', ');
}

/** A rule's parameters in the same words. */
export function describeParams(params: Record<string, unknown>): string {
  return Object.keys(params).length === 0 ? 'Defaults.' : describeEvidence(params);
}
