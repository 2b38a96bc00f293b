export { Uplink, type UplinkState } from './uplink.ts';
export { UplinkConfigSchema, type UplinkConfig } from './config.ts';
