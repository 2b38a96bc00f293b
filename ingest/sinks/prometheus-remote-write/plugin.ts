import { SpoolSink } from '../spool-sink.ts';
import { defineSink } from '../types.ts';
import { RemoteWriteConfigSchema } from './config.ts';
import { spoolLines } from './encode.ts';
import { RemoteWriter } from './writer.ts';

/** Prometheus remote write (protobuf, snappy) through a durable spool of its own. */
export const prometheusRemoteWrite = defineSink({
  kind: 'prometheus-remote-write',
  summary: 'Prometheus remote write 1.0 (VictoriaMetrics, Mimir, Thanos, Cortex), durable spool',
  config: RemoteWriteConfigSchema,
  create: (c, deps) =>
    new SpoolSink(
      { output: 'prometheus-remote-write', target: `remote-write receiver ${new URL(c.url).host}`, table: 'spool_remote_write', maxBatchReadings: c.maxBatchReadings, maxSpoolReadings: c.maxSpoolReadings },
      { ...deps, encode: spoolLines, writer: new RemoteWriter(c) },
    ),
});
