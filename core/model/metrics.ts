import { z } from 'zod';

/**
 * The metric catalog: every metric id Vigil knows, with its canonical unit. Readings carry catalog ids
 * only, so rules, sinks and dashboards agree on names and units without a mapping layer.
 */
export const METRIC_CATALOG = {
  vibration_rms: {
    unit: 'mm/s',
    kind: 'vibration',
    description: 'Overall vibration severity as RMS velocity (ISO 10816 / 20816 bands, 10-1000 Hz)',
  },
  vibration_accel_rms: { unit: 'g', kind: 'vibration', description: 'RMS acceleration' },
  vibration_peak: { unit: 'g', kind: 'vibration', description: 'Peak acceleration' },
  vibration_crest: { unit: '', kind: 'vibration', description: 'Crest factor: peak / RMS acceleration (dimensionless)' },
  vibration_kurtosis: {
    unit: '',
    kind: 'vibration',
    description: 'Kurtosis of the acceleration signal (3 for a healthy, Gaussian-like signal; impulsive faults raise it)',
  },
  bearing_temp: { unit: '°C', kind: 'temperature', description: 'Bearing housing temperature' },
  motor_temp: { unit: '°C', kind: 'temperature', description: 'Motor winding or frame temperature' },
  ambient_temp: { unit: '°C', kind: 'temperature', description: 'Ambient temperature near the asset' },
  motor_current: { unit: 'A', kind: 'electrical', description: 'Motor phase current (RMS)' },
  speed_rpm: { unit: 'rpm', kind: 'process', description: 'Shaft speed' },
} as const satisfies Record<string, { unit: string; kind: string; description: string }>;

export type MetricId = keyof typeof METRIC_CATALOG;
export const METRIC_IDS = Object.keys(METRIC_CATALOG) as [MetricId, ...MetricId[]];
export const MetricIdSchema = z.enum(METRIC_IDS);

const metricSet: ReadonlySet<string> = new Set(METRIC_IDS);

export function isMetricId(value: unknown): value is MetricId {
  return typeof value === 'string' && metricSet.has(value);
}

export function unitOf(metric: MetricId): string {
  return METRIC_CATALOG[metric].unit;
}

// Spellings sensors use for the catalog's units. A unit not listed here and not the canonical one is
// rejected rather than guessed at: a °F value stored as °C is worse than a missing value.
const UNIT_ALIASES: Record<string, string> = {
  C: '°C',
  degC: '°C',
  '°c': '°C',
  celsius: '°C',
  'mm/sec': 'mm/s',
  mms: 'mm/s',
  G: 'g',
  amp: 'A',
  amps: 'A',
  RPM: 'rpm',
  '1/min': 'rpm',
  '-': '',
  ratio: '',
};

/** The canonical unit for `unit` if it means the catalog unit of `metric`, else undefined. */
export function canonicalUnit(metric: MetricId, unit: string): string | undefined {
  const want = METRIC_CATALOG[metric].unit;
  if (unit === want) return want;
  return UNIT_ALIASES[unit] === want ? want : undefined;
}
