export { registerConsoleApi, type ConsoleApiDeps, FORWARDED_HEADER, type Peers, mergeFleets } from './api.ts';
export { registerConsoleStatic } from './static.ts';
export { healthOf, type Health } from './health.ts';
