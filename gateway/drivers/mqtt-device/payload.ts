import {
  type MetricId,
  type Quality,
  type Reading,
  type Rejection,
  type TimeWindow,
  canonicalUnit,
  checkReading,
  isMetricId,
} from '../../../core/index.ts';

export interface ParseTarget {
  deviceId: string;
  /** Set when the topic names the metric; the payload is then one value. */
  metric: MetricId | undefined;
}

export interface ParseResult {
  readings: Reading[];
  rejections: Rejection[];
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
// Anything before 1973-03-03 in milliseconds is almost certainly a time in seconds.
const MIN_PLAUSIBLE_MS = 1e11;

/**
 * Turns one sensor message into Readings. Accepted shapes (see the README, "Sensor integrators"):
 * - topic names the metric: a plain number `2.31`, or JSON `2.31`, or `{"value": 2.31, "ts": …, "unit": "mm/s"}`
 * - topic names only the device: a JSON object of metrics, `{"vibration_rms": 2.31, "bearing_temp": {"value": 41.5}, "ts": …}`
 * `ts` is epoch milliseconds or an ISO 8601 string; without it the gateway's receive time is used.
 * Each value is judged on its own: one bad metric never costs the others in the same message.
 */
export function parsePayload(payload: Buffer, target: ParseTarget, receivedAt: number, window: TimeWindow): ParseResult {
  const text = payload.toString('utf8').trim();
  const out: ParseResult = { readings: [], rejections: [] };
  if (text.length === 0) return fail(out, 'bad_payload', 'empty payload');

  if (target.metric !== undefined && NUMBER.test(text)) {
    push(out, target.deviceId, target.metric, Number(text), undefined, undefined, undefined, receivedAt, window);
    return out;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    if (/^[-+]?(nan|inf(inity)?)$/i.test(text)) return fail(out, 'bad_value', `value ${text} is not a finite number`);
    return fail(out, 'bad_payload', 'payload is neither a number nor JSON');
  }

  if (target.metric !== undefined) {
    if (typeof json === 'number') {
      push(out, target.deviceId, target.metric, json, undefined, undefined, undefined, receivedAt, window);
    } else if (isObject(json)) {
      const unknown = Object.keys(json).find((k) => !VALUE_KEYS.has(k));
      if (unknown !== undefined) return fail(out, 'bad_field', `unknown field ${JSON.stringify(unknown).slice(0, 40)}; expected value, ts, unit, quality`);
      push(out, target.deviceId, target.metric, json.value, json.ts, json.unit, json.quality, receivedAt, window);
    } else {
      return fail(out, 'bad_payload', 'expected a number or an object with "value"');
    }
    return out;
  }

  if (!isObject(json)) return fail(out, 'bad_payload', 'expected a JSON object of metrics, e.g. {"vibration_rms": 2.3}');
  const sharedTs = json.ts;
  let any = false;
  for (const [key, v] of Object.entries(json)) {
    if (key === 'ts') continue;
    any = true;
    if (!isMetricId(key)) {
      out.rejections.push({ code: 'unknown_metric', message: `unknown metric ${JSON.stringify(key).slice(0, 80)}` });
      continue;
    }
    if (isObject(v)) {
      const unknown = Object.keys(v).find((k) => !VALUE_KEYS.has(k));
      if (unknown !== undefined) {
        out.rejections.push({ code: 'bad_field', message: `${key}: unknown field ${JSON.stringify(unknown).slice(0, 40)}` });
        continue;
      }
      push(out, target.deviceId, key, v.value, v.ts ?? sharedTs, v.unit, v.quality, receivedAt, window);
    } else {
      push(out, target.deviceId, key, v, sharedTs, undefined, undefined, receivedAt, window);
    }
  }
  if (!any) return fail(out, 'bad_payload', 'object has no metrics');
  return out;
}

const VALUE_KEYS: ReadonlySet<string> = new Set(['value', 'ts', 'unit', 'quality']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(out: ParseResult, code: Rejection['code'], message: string): ParseResult {
  out.rejections.push({ code, message });
  return out;
}

function push(
  out: ParseResult,
  deviceId: string,
  metric: MetricId,
  value: unknown,
  ts: unknown,
  unit: unknown,
  quality: unknown,
  receivedAt: number,
  window: TimeWindow,
): void {
  let sampleTs: unknown = receivedAt;
  if (typeof ts === 'string') {
    sampleTs = /^\d{4}-\d\d-\d\d/.test(ts) ? Date.parse(ts) : NaN;
    if (!Number.isFinite(sampleTs)) {
      out.rejections.push({ code: 'bad_ts', message: `${metric}: ts ${JSON.stringify(ts).slice(0, 40)} is not ISO 8601` });
      return;
    }
  } else if (ts !== undefined) {
    if (typeof ts === 'number' && ts > 0 && ts < MIN_PLAUSIBLE_MS) {
      out.rejections.push({ code: 'bad_ts', message: `${metric}: ts ${ts} looks like seconds; send epoch milliseconds` });
      return;
    }
    sampleTs = ts;
  }
  const reading: Record<string, unknown> = { deviceId, metric, value, ts: sampleTs };
  if (unit !== undefined) reading.unit = unit;
  if (quality !== undefined) reading.quality = quality;
  const problem = checkReading(reading, window);
  if (problem) {
    out.rejections.push({ code: problem.code, message: `${metric}: ${problem.message}` });
    return;
  }
  const r: Reading = { deviceId, metric, value: value as number, ts: sampleTs as number };
  if (typeof unit === 'string') r.unit = canonicalUnit(metric, unit);
  if (quality !== undefined) r.quality = quality as Quality;
  out.readings.push(r);
}
