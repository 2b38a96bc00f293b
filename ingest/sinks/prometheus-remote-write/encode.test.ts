import { compress, uncompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { decodeWriteRequest, spoolLines, writeRequest } from './encode.ts';

describe('remote-write encoding', () => {
  it('groups a batch into one series per device, metric and quality, labels sorted, samples in time order', () => {
    const lines = spoolLines({
      site: 'plant-a',
      gatewayId: 'gw-1',
      readings: [
        { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.5, ts: 2000 },
        { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.25, ts: 1000 },
        { deviceId: 'pump-1', metric: 'bearing_temp', value: -4.5, ts: 1000 },
        { deviceId: 'pump-1', metric: 'bearing_temp', value: 99, ts: 3000, quality: 'bad' },
      ],
    });
    const req = decodeWriteRequest(uncompress(compress(writeRequest(lines, 'telemetry_'))));
    expect(req.timeseries).toHaveLength(3);
    const vib = req.timeseries.find((s) => s.labels.some((l) => l.value === 'telemetry_vibration_rms'))!;
    expect(vib.labels).toEqual([
      { name: '__name__', value: 'telemetry_vibration_rms' },
      { name: 'device', value: 'pump-1' },
      { name: 'gateway', value: 'gw-1' },
      { name: 'site', value: 'plant-a' },
    ]);
    expect(vib.samples).toEqual([{ value: 2.25, timestamp: 1000 }, { value: 2.5, timestamp: 2000 }]);
    const bad = req.timeseries.find((s) => s.labels.some((l) => l.name === 'quality'))!;
    expect(bad.labels.find((l) => l.name === 'quality')).toEqual({ name: 'quality', value: 'bad' });
    expect(bad.samples).toEqual([{ value: 99, timestamp: 3000 }]);
  });
});
