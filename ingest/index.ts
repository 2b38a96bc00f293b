export { buildServer, type Server, type ServerDeps } from './build.ts';
export { ServerConfigSchema, type ServerConfig, type GatewayCredential } from './config.ts';
export { Intake, type Sender, type BatchListener } from './subscriber/intake.ts';
export type { AcceptedBatch, TelemetrySink } from './sinks/types.ts';
export { LineEncoder, InfluxWriter, classifyStatus, parseRetryAfter } from './sinks/influx/index.ts';
export { HistoryRollups, type RollupRow } from './history/rollups.ts';
