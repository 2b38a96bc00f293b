export { Uplink, type UplinkState } from './uplink.ts';
export { UplinkConfigSchema, type UplinkConfig, uplinkUrls } from './config.ts';
