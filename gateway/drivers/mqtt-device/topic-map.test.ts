import { describe, expect, it } from 'vitest';
import { TopicMap, patternProblems } from './topic-map.ts';

describe('TopicMap', () => {
  const map = new TopicMap([
    { pattern: 'sensors/{device}/{metric}' },
    { pattern: 'sensors/{device}' },
    { pattern: 'plant/line1/motor7/temp', device: 'motor-7', metric: 'motor_temp' },
  ]);

  it('gives subscription filters for every pattern', () => {
    expect(map.filters()).toEqual(['sensors/+/+', 'sensors/+', 'plant/line1/motor7/temp']);
  });

  it('maps topics to device and metric; first match wins', () => {
    expect(map.match('sensors/pump-1/vibration_rms')).toEqual({ deviceId: 'pump-1', metric: 'vibration_rms' });
    expect(map.match('sensors/pump-1')).toEqual({ deviceId: 'pump-1', metric: undefined });
    expect(map.match('plant/line1/motor7/temp')).toEqual({ deviceId: 'motor-7', metric: 'motor_temp' });
    expect(map.match('other/pump-1')).toBeUndefined();
    expect(map.match('sensors/pump-1/vibration_rms/extra')).toBeUndefined();
  });

  it('refuses invalid device ids and unknown metrics in topics with a reason', () => {
    expect(map.match('sensors/pump-1/warp')).toMatchObject({ code: 'unknown_metric' });
    expect(map.match('sensors/pump 1')).toMatchObject({ code: 'bad_device' });
  });

  it.each([
    [{ pattern: 'sensors/#' }, /wildcards/],
    [{ pattern: 'sensors/dev-{device}' }, /whole level/],
    [{ pattern: 'sensors/x' }, /no \{device\}/],
    [{ pattern: 'sensors/{device}', device: 'a' }, /either/],
    [{ pattern: 'a/{device}/{device}' }, /once/],
  ])('finds problems in %j', (m, problem) => {
    expect(patternProblems(m).join('; ')).toMatch(problem);
  });
});
