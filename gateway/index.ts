export { buildGateway, type Gateway, type GatewayDeps } from './build.ts';
export { GatewayConfigSchema, type GatewayConfig, uplinkWarnings } from './config.ts';
export { DRIVERS, DriverConfigSchema } from './drivers/registry.ts';
export * from './outbox/index.ts';
export * from './uplink/index.ts';
