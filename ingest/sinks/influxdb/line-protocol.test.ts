import { describe, expect, it } from 'vitest';
import { LineEncoder, escapeTag, readingsInLine } from './line-protocol.ts';

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

  it("puts a device's consecutive readings of one time and quality on one line, never one field twice", () => {
    const text = new LineEncoder().encode('plant-a', 'gw-1', [
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.5, ts: 10 },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 61, ts: 10 },
      { deviceId: 'pump-1', metric: 'motor_current', value: 30, ts: 10, quality: 'good' },
      // the same metric again at the same time: a line of its own
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 62, ts: 10 },
      { deviceId: 'pump-1', metric: 'speed_rpm', value: 1480, ts: 10, quality: 'uncertain' },
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.6, ts: 11 },
      { deviceId: 'pump-2', metric: 'vibration_rms', value: 1.1, ts: 11 },
    ]);
    expect(text.split('\n')).toEqual([
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a vibration_rms=2.5,bearing_temp=61,motor_current=30 10',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a bearing_temp=62 10',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a,quality=uncertain speed_rpm=1480 10',
      'telemetry,device=pump-1,gateway=gw-1,site=plant-a vibration_rms=2.6 11',
      'telemetry,device=pump-2,gateway=gw-1,site=plant-a vibration_rms=1.1 11',
    ]);
    expect(text.split('\n').map(readingsInLine)).toEqual([3, 1, 1, 1, 1]);
    expect(new LineEncoder().encode('s', 'g', [])).toBe('');
  });

  it('counts the readings of a line past escaped spaces and commas in its tags', () => {
    expect(readingsInLine('t,device=a\\ b\\,c,site=s x=1,y=2 5')).toBe(2);
    expect(readingsInLine('my\\ measurement,device=d speed_rpm=1 1')).toBe(1);
  });

  it('escapes tag values and measurements per the line protocol', () => {
    expect(escapeTag('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(new LineEncoder('my measurement').encode('s', 'g', [{ deviceId: 'd', metric: 'speed_rpm', value: 1, ts: 1 }])).toBe(
      'my\\ measurement,device=d,gateway=g,site=s speed_rpm=1 1',
    );
  });
});
