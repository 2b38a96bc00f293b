import protobuf from 'protobufjs';
import type { AcceptedBatch } from '../types.ts';

// The remote-write 1.0 message (prometheus/prompb types.proto and remote.proto), the fields it needs.
const Label = new protobuf.Type('Label').add(new protobuf.Field('name', 1, 'string')).add(new protobuf.Field('value', 2, 'string'));
const Sample = new protobuf.Type('Sample').add(new protobuf.Field('value', 1, 'double')).add(new protobuf.Field('timestamp', 2, 'int64'));
const TimeSeries = new protobuf.Type('TimeSeries').add(new protobuf.Field('labels', 1, 'Label', 'repeated')).add(new protobuf.Field('samples', 2, 'Sample', 'repeated'));
const WriteRequest = new protobuf.Type('WriteRequest').add(new protobuf.Field('timeseries', 1, 'TimeSeries', 'repeated'));
new protobuf.Root().define('prometheus').add(Label).add(Sample).add(TimeSeries).add(WriteRequest);

/**
 * One spool line per reading: `site TAB gateway TAB device TAB metric TAB quality TAB value TAB ts`.
 * Ids never hold tabs (they are validated at intake), and the line splits like any other spool line.
 */
export function spoolLines(b: AcceptedBatch): string {
  let out = '';
  for (const r of b.readings) out += `${out ? '\n' : ''}${b.site}\t${b.gatewayId}\t${r.deviceId}\t${r.metric}\t${r.quality === undefined || r.quality === 'good' ? '' : r.quality}\t${r.value}\t${r.ts}`;
  return out;
}

/** Spool lines as a remote-write request: one series per (metric, site, gateway, device, quality), labels sorted, samples in time order. */
export function writeRequest(lines: string, prefix: string): Uint8Array {
  const series = new Map<string, { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }>();
  for (const line of lines.split('\n')) {
    const [site, gateway, device, metric, quality, value, ts] = line.split('\t');
    const key = `${metric}\t${site}\t${gateway}\t${device}\t${quality}`;
    let s = series.get(key);
    if (!s) {
      const labels = [
        { name: '__name__', value: `${prefix}${metric}` },
        { name: 'device', value: device! },
        { name: 'gateway', value: gateway! },
        ...(quality ? [{ name: 'quality', value: quality }] : []),
        { name: 'site', value: site! },
      ];
      series.set(key, (s = { labels, samples: [] }));
    }
    s.samples.push({ value: Number(value), timestamp: Number(ts) });
  }
  for (const s of series.values()) s.samples.sort((a, b) => a.timestamp - b.timestamp);
  return WriteRequest.encode(WriteRequest.create({ timeseries: [...series.values()] })).finish();
}

/** For tests: a request back as plain objects. */
export function decodeWriteRequest(bytes: Uint8Array): { timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number | { toNumber(): number } }[] }[] } {
  return WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number }) as ReturnType<typeof decodeWriteRequest>;
}
