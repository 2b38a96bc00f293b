import { SpoolSink, type LineWriter } from '../spool-sink.ts';
import type { SinkDeps } from '../types.ts';
import { LineEncoder, readingsInLine } from './line-protocol.ts';

export type { LineWriter };

export interface InfluxSinkOptions {
  measurement: string;
  maxBatchReadings: number;
  maxSpoolReadings: number;
}

/**
 * Writes readings to InfluxDB (or any server of the v2 write API) as line protocol through the durable
 * spool. Its spool table and metrics keep the names of earlier releases (`spool`, `vigil_tsdb_*`).
 */
export class InfluxSink extends SpoolSink {
  constructor(opts: InfluxSinkOptions, deps: SinkDeps & { writer: LineWriter }) {
    const encoder = new LineEncoder(opts.measurement);
    super(
      { output: 'tsdb', target: 'time-series database', table: 'spool', maxBatchReadings: opts.maxBatchReadings, maxSpoolReadings: opts.maxSpoolReadings, legacyMetrics: true },
      { ...deps, encode: (b) => encoder.encode(b.site, b.gatewayId, b.readings), readingsIn: readingsInLine },
    );
  }
}
