import { defineSink } from '../types.ts';
import { InfluxConfigSchema } from './config.ts';
import { InfluxSink } from './influx-sink.ts';
import { InfluxWriter } from './writer.ts';

/** Line protocol over the InfluxDB v2 write API, through a durable spool in the server's database. */
export const influxdb = defineSink({
  kind: 'influxdb',
  summary: 'InfluxDB v2 write API (InfluxDB 2 and 3, VictoriaMetrics), line protocol, durable spool',
  config: InfluxConfigSchema,
  create: (c, deps) =>
    new InfluxSink(
      { measurement: c.measurement, maxBatchReadings: c.maxBatchReadings, maxSpoolReadings: c.maxSpoolReadings },
      { ...deps, writer: new InfluxWriter({ url: c.url, token: c.token, org: c.org, bucket: c.bucket, timeoutMs: c.timeout }) },
    ),
});
