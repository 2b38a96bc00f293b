export { registerConsoleApi, type ConsoleApiDeps } from './api.ts';
export { registerConsoleStatic } from './static.ts';
export { healthOf, type Health } from './health.ts';
