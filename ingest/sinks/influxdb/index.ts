export { InfluxSink, type LineWriter } from './influx-sink.ts';
export { InfluxWriter, type InfluxTarget } from './writer.ts';
export { LineEncoder, escapeTag } from './line-protocol.ts';
export { InfluxConfigSchema, type InfluxConfig } from './config.ts';
export { influxdb } from './plugin.ts';
