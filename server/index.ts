// The server: the assembly of every central part (intake, rules, tickets, the console) and its config.
// Parts never import from here; this folder imports from them.
export { buildServer, type Server, type ServerDeps } from './build.ts';
export { SERVER_CONFIG_VERSION, ServerConfigSchema, type ServerConfig } from './config.ts';
