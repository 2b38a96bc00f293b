export { RemoteWriteConfigSchema, type RemoteWriteConfig } from './config.ts';
export { decodeWriteRequest, spoolLines, writeRequest } from './encode.ts';
export { prometheusRemoteWrite } from './plugin.ts';
