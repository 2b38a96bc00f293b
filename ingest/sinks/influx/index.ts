export { InfluxSink, type LineWriter } from './influx-sink.ts';
export { InfluxWriter, type InfluxTarget } from './writer.ts';
export { LineEncoder, escapeTag } from './line-protocol.ts';
