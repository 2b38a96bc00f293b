import { describe, expect, it } from 'vitest';
import { EnvelopeSchema } from './envelope.ts';
import { METRIC_CATALOG, METRIC_IDS, canonicalUnit } from './metrics.ts';
import { ReadingSchema, checkReading, timeWindow } from './reading.ts';
import { SHARD_COUNT, clientIdOf, envelopeFilter, filterCovers, fnv1a32, gatewayClientId, gatewayTopic, parseGatewayTopic, shardOf, topicMatches } from './topics.ts';

const NOW = Date.UTC(2026, 0, 1);
const window = timeWindow(NOW, 86_400_000, 60_000);

describe('checkReading at the edges of time (found by the fuzz drill)', () => {
  it('refuses a ts past the Date range as bad_ts instead of throwing while it describes it', () => {
    for (const ts of [1e145, 8.64e15 + 1, Number.MAX_SAFE_INTEGER]) {
      expect(checkReading({ deviceId: 'pump-1', metric: 'vibration_rms', value: 1, ts }, window)?.code, String(ts)).toBe('bad_ts');
    }
  });
});

describe('topic filters for ACLs (MQTT 3.1.1 §4.7)', () => {
  it('matches topics as a broker does, $-topics only by an explicit filter', () => {
    expect(topicMatches('sensors/+', 'sensors/pump-1')).toBe(true);
    expect(topicMatches('sensors/+', 'sensors/pump-1/x')).toBe(false);
    expect(topicMatches('sensors/#', 'sensors')).toBe(true);
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+/broker', '$SYS/broker')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker')).toBe(true);
  });

  it('grants a subscription only when an allowed filter covers all of it', () => {
    expect(filterCovers('sensors/#', 'sensors/+/vibration_rms')).toBe(true);
    expect(filterCovers('sensors/+', 'sensors/#')).toBe(false);
    expect(filterCovers('sensors/+', 'sensors/+')).toBe(true);
    expect(filterCovers('sensors/pump-1', 'sensors/+')).toBe(false);
    // `$SYS/#` only when listed: a wildcard at the first level never covers $-topics (§4.7.2).
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('$SYS/#', '$SYS/broker/+')).toBe(true);
    expect(filterCovers('+/#', '$SYS/#')).toBe(false);
    expect(filterCovers('sensors/+/x', 'sensors/+')).toBe(false);
  });

  it("binds client ids to their holder, so no suffix spells another gateway's id", () => {
    expect(clientIdOf(gatewayClientId('gw-1'), 'vigil-gw-gw-1')).toBe(true);
    expect(clientIdOf(gatewayClientId('gw-1'), 'vigil-gw-gw-1/bench-0')).toBe(true);
    expect(clientIdOf(gatewayClientId('gw-1'), 'vigil-gw-gw-10')).toBe(false);
    expect(clientIdOf(gatewayClientId('gw-1'), 'vigil-gw-gw-1-x')).toBe(false);
  });
});

describe('metric catalog', () => {
  it('holds the metrics the pipeline relies on, with their units', () => {
    expect(METRIC_CATALOG.vibration_rms.unit).toBe('mm/s');
    expect(METRIC_CATALOG.vibration_accel_rms.unit).toBe('g');
    expect(METRIC_CATALOG.bearing_temp.unit).toBe('°C');
    expect(METRIC_IDS).toEqual(
      expect.arrayContaining(['vibration_peak', 'vibration_crest', 'vibration_kurtosis', 'motor_temp', 'ambient_temp', 'motor_current', 'speed_rpm']),
    );
    expect(METRIC_IDS.every((m) => /^[a-z][a-z0-9_]*$/.test(m))).toBe(true);
    expect(canonicalUnit('bearing_temp', 'degC')).toBe('°C');
    expect(canonicalUnit('bearing_temp', '°F')).toBeUndefined();
  });
});

describe('checkReading agrees with ReadingSchema', () => {
  const cases: unknown[] = [
    { deviceId: 'pump-1', metric: 'vibration_rms', value: 1.2, ts: NOW },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: 1.2, ts: NOW, unit: 'mm/s', quality: 'good' },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: Number.NaN, ts: NOW },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: Infinity, ts: NOW },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: '1', ts: NOW },
    { deviceId: 'pump 1', metric: 'vibration_rms', value: 1, ts: NOW },
    { deviceId: 'pump-1', metric: 'nope', value: 1, ts: NOW },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: 1, ts: 1.5 },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: 1, ts: NOW, extra: true },
    { deviceId: 'pump-1', metric: 'vibration_rms', value: 1, ts: NOW, quality: 'fine' },
    null,
    [1],
  ];
  it.each(cases.map((c) => [JSON.stringify(c), c]))('%s', (_label, c) => {
    expect(checkReading(c, window) === undefined).toBe(ReadingSchema.safeParse(c).success);
  });

  it('adds the time window', () => {
    expect(checkReading({ deviceId: 'a', metric: 'speed_rpm', value: 1, ts: NOW + 120_000 }, window)?.code).toBe('ts_future');
    expect(checkReading({ deviceId: 'a', metric: 'speed_rpm', value: 1, ts: NOW - 2 * 86_400_000 }, window)?.code).toBe('ts_old');
  });
});

describe('Envelope', () => {
  it('accepts readings of any shape (checked one by one later) and refuses a bad header', () => {
    const env = { v: 1, site: 'plant-a', gatewayId: 'gw-1', bootId: 'b', seq: 0, sentAt: NOW, readings: [{ junk: true }] };
    expect(EnvelopeSchema.safeParse(env).success).toBe(true);
    expect(EnvelopeSchema.safeParse({ ...env, v: 2 }).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...env, site: 'a/b' }).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...env, seq: -1 }).success).toBe(false);
  });
});

describe('topics', () => {
  it('computes FNV-1a 32 (reference vectors) and shards sites', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(shardOf('plant-a')).toBeLessThan(SHARD_COUNT);
  });

  it('builds and parses gateway topics, refusing a shard that does not match the site', () => {
    const t = gatewayTopic('plant-a', 'gw-1', 'envelope');
    expect(t).toBe(`vigil/v1/${shardOf('plant-a')}/plant-a/gw-1/envelope`);
    expect(parseGatewayTopic(t)).toEqual({ shard: shardOf('plant-a'), site: 'plant-a', gatewayId: 'gw-1', kind: 'envelope' });
    expect(parseGatewayTopic(`vigil/v1/${(shardOf('plant-a') + 1) % SHARD_COUNT}/plant-a/gw-1/envelope`)).toBeUndefined();
    expect(parseGatewayTopic('vigil/v1/1/plant-a/gw-1/other')).toBeUndefined();
    expect(envelopeFilter()).toBe('vigil/v1/+/+/+/envelope');
    expect(envelopeFilter(7)).toBe('vigil/v1/7/+/+/envelope');
  });
});
