import { z } from 'zod';
import type { MetricId } from '../../core/index.ts';
import { gaussian, uniform } from './noise.ts';

const DAY = 86_400_000;

export const FaultKindSchema = z.enum(['bearing_wear', 'overheating']);
export type FaultKind = z.infer<typeof FaultKindSchema>;

export const SensorFaultKindSchema = z.enum(['stuck', 'spikes', 'dropout']);

/** A device's signal model with every time resolved to epoch ms. */
export interface DeviceModel {
  id: string;
  seed: number;
  /** Healthy RMS velocity at mean load, mm/s. */
  vibration: number;
  /** Healthy bearing temperature at mean load, °C. */
  temperature: number;
  ambient: number;
  fault?: { kind: FaultKind; onset: number; failsAt: number };
  sensorFaults: { kind: 'stuck' | 'spikes' | 'dropout'; metric?: SimMetric; from: number; to: number; probability: number }[];
  /** Stopped from `from` to `to`; `data: false`: nothing is sent meanwhile. */
  stops?: { from: number; to: number; data: boolean }[];
}

// A bearing housing cools and warms with a time constant of about half an hour.
const THERMAL_TAU = 30 * 60_000;
// A stopped machine's accelerometer reads its own noise floor: about 2 % of a running level.
const NOISE_FLOOR = 0.02;

/** The stop in progress at t, and the last one that ended before t (for the warming after it). */
function stopsAt(m: DeviceModel, t: number): { now?: { from: number; to: number; data: boolean }; last?: { from: number; to: number } } {
  let now;
  let last;
  for (const s of m.stops ?? []) {
    if (t >= s.from && t < s.to) now = s;
    else if (s.to <= t && (!last || s.to > last.to)) last = s;
  }
  return { ...(now ? { now } : {}), ...(last ? { last } : {}) };
}

export const SIM_METRICS = ['vibration_rms', 'vibration_kurtosis', 'bearing_temp'] as const satisfies readonly MetricId[];
export type SimMetric = (typeof SIM_METRICS)[number];
export type Sample = Partial<Record<SimMetric, number>>;

const STREAM: Record<SimMetric, number> = { vibration_rms: 1, vibration_kurtosis: 2, bearing_temp: 3 };

/** Load between 0.1 and 1: a daily cycle with a weekly swing, phase-shifted per device. */
export function load(seed: number, t: number): number {
  const phase = uniform(seed, 99, 0) * 2 * Math.PI;
  const l = 0.55 + 0.3 * Math.sin((2 * Math.PI * t) / DAY + phase) + 0.1 * Math.sin((2 * Math.PI * t) / (7 * DAY) + phase);
  return Math.min(1, Math.max(0.1, l));
}

/** Wear progress between onset (0) and failure (1). */
export function progress(fault: DeviceModel['fault'], t: number): number {
  if (!fault || t <= fault.onset) return 0;
  return Math.min(1, (t - fault.onset) / (fault.failsAt - fault.onset));
}

function smoothstep(a: number, b: number, x: number): number {
  const u = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return u * u * (3 - 2 * u);
}

/** The true physical values at time t, before any sensor fault. */
export function truth(m: DeviceModel, t: number): Record<SimMetric, number> {
  const i = Math.floor(t / 1000);
  const l = load(m.seed, t);
  const f = progress(m.fault, t);
  let vib = m.vibration * (0.85 + 0.3 * l) * (1 + 0.04 * gaussian(m.seed, STREAM.vibration_rms, i));
  let kurt = 3 + 0.15 * gaussian(m.seed, STREAM.vibration_kurtosis, i);
  let temp = m.ambient + (m.temperature - m.ambient) * (0.7 + 0.6 * l) + 0.3 * gaussian(m.seed, STREAM.bearing_temp, i);
  if (m.fault?.kind === 'bearing_wear') {
    // The P-F curve of a rolling-element bearing: impacts raise kurtosis early, overall velocity
    // follows as damage spreads (while kurtosis falls back), temperature rises last.
    vib *= 1 + 0.6 * f + 5.5 * f ** 4;
    kurt += 5 * smoothstep(0.05, 0.5, f) - 2.5 * smoothstep(0.75, 1, f);
    temp += 20 * f ** 3;
  } else if (m.fault?.kind === 'overheating') {
    temp += 45 * f ** 2;
    vib *= 1 + 0.3 * f;
  }
  const { now: stopped, last } = stopsAt(m, t);
  if (stopped) {
    // Cooling from the running temperature towards ambient; vibration is the sensor's noise floor.
    const cool = Math.exp(-(t - stopped.from) / THERMAL_TAU);
    return {
      vibration_rms: m.vibration * NOISE_FLOOR * (1 + 0.1 * gaussian(m.seed, STREAM.vibration_rms, i)),
      vibration_kurtosis: 3 + 0.1 * gaussian(m.seed, STREAM.vibration_kurtosis, i),
      bearing_temp: m.ambient + (temp - m.ambient) * cool,
    };
  }
  if (last && t - last.to < 10 * THERMAL_TAU) {
    // Warming up again from where the stop left it.
    const left = Math.exp(-(last.to - last.from) / THERMAL_TAU);
    temp = temp - (temp - m.ambient) * (1 - left) * Math.exp(-(t - last.to) / THERMAL_TAU);
  }
  return { vibration_rms: Math.max(0, vib), vibration_kurtosis: Math.max(1.5, kurt), bearing_temp: temp };
}

/** What the sensor reports at time t: truth with sensor faults applied; nothing once the machine has failed. */
export function sample(m: DeviceModel, t: number): Sample {
  if (m.fault && t >= m.fault.failsAt) return {}; // tripped: a failed machine stops reporting
  if (m.stops?.some((s) => !s.data && t >= s.from && t < s.to)) return {};
  const v: Sample = truth(m, t);
  const i = Math.floor(t / 1000);
  for (const sf of m.sensorFaults) {
    if (t < sf.from || t >= sf.to) continue;
    const metrics = sf.metric ? [sf.metric] : SIM_METRICS;
    for (const metric of metrics) {
      if (sf.kind === 'dropout') delete v[metric];
      else if (sf.kind === 'stuck') v[metric] = round(truth(m, sf.from)[metric]);
      else if (uniform(m.seed, 50 + STREAM[metric], i) < sf.probability && v[metric] !== undefined) v[metric] = v[metric]! * 8;
    }
  }
  for (const k of SIM_METRICS) if (v[k] !== undefined) v[k] = round(v[k]!);
  return v;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Every catalog metric a Modbus transmitter would report, derived from the model at time t: the
 * acceleration figures follow the velocity, crest factor follows kurtosis (impacts raise both).
 */
export function transmitterValues(m: DeviceModel, t: number): Partial<Record<MetricId, number>> {
  const s = sample(m, t);
  if (s.vibration_rms === undefined && s.bearing_temp === undefined) return {};
  const out: Partial<Record<MetricId, number>> = { ...s };
  if (s.vibration_rms !== undefined) {
    const crest = 3 + ((s.vibration_kurtosis ?? 3) - 3) * 0.4;
    out.vibration_accel_rms = round(s.vibration_rms * 0.05);
    out.vibration_crest = round(crest);
    out.vibration_peak = round(s.vibration_rms * 0.05 * crest);
  }
  if (s.bearing_temp !== undefined) {
    out.motor_temp = round(s.bearing_temp + 5);
    out.ambient_temp = round(m.ambient);
  }
  return out;
}
