export { registerConsoleApi, type ConsoleApiDeps, mergeFleets } from './api.ts';
export { registerConsoleStatic } from './static.ts';
export { healthOf, type Health } from './health.ts';
