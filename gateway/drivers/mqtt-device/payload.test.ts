import { describe, expect, it } from 'vitest';
import { timeWindow } from '../../../core/index.ts';
import { parsePayload } from './payload.ts';

const NOW = Date.UTC(2026, 5, 1, 12);
const window = timeWindow(NOW, 400 * 86_400_000, 300_000);
const parse = (payload: string, metric?: 'vibration_rms' | 'bearing_temp') =>
  parsePayload(Buffer.from(payload), { deviceId: 'pump-1', metric }, NOW, window);

describe('parsePayload', () => {
  it.each([
    ['2.31', 2.31],
    [' -0.5 ', -0.5],
    ['1e2', 100],
    ['{"value": 2.31}', 2.31],
    ['7', 7],
  ])('reads the single value %j', (payload, value) => {
    const r = parse(payload, 'vibration_rms');
    expect(r.rejections).toEqual([]);
    expect(r.readings).toEqual([{ deviceId: 'pump-1', metric: 'vibration_rms', value, ts: NOW }]);
  });

  it('takes ts as epoch ms or ISO 8601, and normalises unit spellings', () => {
    const a = parse(JSON.stringify({ value: 41, ts: NOW - 1000, unit: 'degC' }), 'bearing_temp');
    expect(a.readings).toEqual([{ deviceId: 'pump-1', metric: 'bearing_temp', value: 41, ts: NOW - 1000, unit: '°C' }]);
    const b = parse(JSON.stringify({ value: 41, ts: '2026-06-01T11:00:00Z' }), 'bearing_temp');
    expect(b.readings[0]!.ts).toBe(Date.UTC(2026, 5, 1, 11));
  });

  it('reads an object of metrics with a shared ts and per-metric objects', () => {
    const r = parse(JSON.stringify({ ts: NOW - 5, vibration_rms: 1.5, bearing_temp: { value: 40, ts: NOW - 9, quality: 'uncertain' } }));
    expect(r.rejections).toEqual([]);
    expect(r.readings).toEqual([
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 1.5, ts: NOW - 5 },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 40, ts: NOW - 9, quality: 'uncertain' },
    ]);
  });

  it('keeps the good metrics of an object when one is bad', () => {
    const r = parse(JSON.stringify({ vibration_rms: 1.5, warp: 9, bearing_temp: 'hot' }));
    expect(r.readings.map((x) => x.metric)).toEqual(['vibration_rms']);
    expect(r.rejections.map((x) => x.code)).toEqual(['unknown_metric', 'bad_value']);
  });

  it.each([
    ['', 'vibration_rms', 'bad_payload'],
    ['abc', 'vibration_rms', 'bad_payload'],
    ['NaN', 'vibration_rms', 'bad_value'],
    ['-Infinity', 'vibration_rms', 'bad_value'],
    ['1e999', 'vibration_rms', 'bad_value'],
    ['true', 'vibration_rms', 'bad_payload'],
    ['{"value": "2"}', 'vibration_rms', 'bad_value'],
    ['{"val": 2}', 'vibration_rms', 'bad_field'],
    [JSON.stringify({ value: 2, ts: NOW + 3_600_000 }), 'vibration_rms', 'ts_future'],
    [JSON.stringify({ value: 2, ts: NOW - 500 * 86_400_000 }), 'vibration_rms', 'ts_old'],
    [JSON.stringify({ value: 2, ts: Math.floor(NOW / 1000) }), 'vibration_rms', 'bad_ts'],
    [JSON.stringify({ value: 2, ts: 'Monday' }), 'vibration_rms', 'bad_ts'],
    [JSON.stringify({ value: 2, unit: 'in/s' }), 'vibration_rms', 'bad_unit'],
    [JSON.stringify({ value: 2, quality: 'great' }), 'vibration_rms', 'bad_field'],
    ['[1]', undefined, 'bad_payload'],
    ['{}', undefined, 'bad_payload'],
    ['3.5', undefined, 'bad_payload'],
  ] as const)('refuses %j (metric from topic: %s) as %s', (payload, metric, code) => {
    const r = parse(payload, metric);
    expect(r.readings).toEqual([]);
    expect(r.rejections.map((x) => x.code)).toEqual([code]);
    expect(r.rejections[0]!.message.length).toBeGreaterThan(5);
  });
});
