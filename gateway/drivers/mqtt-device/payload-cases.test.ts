import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type MetricId, timeWindow } from '../../../core/index.ts';
import { parsePayload } from './payload.ts';

interface Case {
  why: string;
  topic: { deviceId: string; metric?: MetricId };
  receivedAt: number;
  payload: string;
  readings: unknown[];
  rejections: string[];
}

const dir = new URL('./testcases/', import.meta.url);

describe('mqtt-device testcases', () => {
  it.each(readdirSync(dir))('%s', (name) => {
    const c = JSON.parse(readFileSync(new URL(`${name}/case.json`, dir), 'utf8')) as Case;
    const r = parsePayload(Buffer.from(c.payload), { deviceId: c.topic.deviceId, metric: c.topic.metric }, c.receivedAt, timeWindow(c.receivedAt, 400 * 86_400_000, 300_000));
    expect(r.readings).toEqual(c.readings);
    expect(r.rejections.map((x) => x.code)).toEqual(c.rejections);
  });
});
