import { describe, expect, it } from 'vitest';
import { LineEncoder, escapeTag } from './line-protocol.ts';

describe('LineEncoder', () => {
  it('tags readings whose quality is not good, and leaves good ones on the plain series', () => {
    const text = new LineEncoder().encode('plant-a', 'gw-1', [
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 60, ts: 1, quality: 'bad' },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 41, ts: 2, quality: 'good' },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 42, ts: 3, quality: 'uncertain' },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 43, ts: 4 },
    ]);
    expect(text.split('\n')).toEqual([
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a,quality=bad bearing_temp=60 1',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a bearing_temp=41 2',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a,quality=uncertain bearing_temp=42 3',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a bearing_temp=43 4',
    ]);
  });

  it('writes one line per reading with sorted tags, the metric as field and the sample time in ms', () => {
    const enc = new LineEncoder();
    const text = enc.encode('plant-a', 'gw-1', [
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.5, ts: 1767225600000 },
      { deviceId: 'pump-2', metric: 'bearing_temp', value: 40, ts: 1767225600001 },
    ]);
    expect(text).toBe(
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a vibration_rms=2.5 1767225600000\n' +
        'telemetry,device=pump-2,gateway=gw-1,site=plant-a bearing_temp=40 1767225600001',
    );
  });

  it('escapes tag values and measurements per the line protocol', () => {
    expect(escapeTag('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(new LineEncoder('my measurement').encode('s', 'g', [{ deviceId: 'd', metric: 'speed_rpm', value: 1, ts: 1 }])).toBe(
      'my\\ measurement,device=d,gateway=g,site=s speed_rpm=1 1',
    );
  });
});
