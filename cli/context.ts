import { parseDocument } from 'yaml';
import { z } from 'zod';
import { join, resolve } from 'node:path';
import { ConfigError, type Logger, PostgresSql, type Sql, SqliteSql, createLogger, openDatabase, parseConfig, readConfigText } from '../core/index.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CliContext {
  env: Env;
  out: (line: string) => void;
  err: (line: string) => void;
}

export function cliLogger(env: Env, name: string): Logger {
  const level = (env.VIGIL_LOG_LEVEL ?? 'info') as 'info';
  return createLogger({ name, level, pretty: env.VIGIL_LOG_FORMAT === 'pretty' || (env.VIGIL_LOG_FORMAT !== 'json' && process.stdout.isTTY === true) });
}

/**
 * Resolves when the process is asked to stop (SIGINT, SIGTERM or SIGHUP). A second signal while the
 * services stop ends the process at once, and says so, rather than leaving it to a stuck client.
 */
export function untilSignal(err: (line: string) => void = (l) => console.error(l)): Promise<NodeJS.Signals> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  return new Promise((resolve) => {
    const first = (sig: NodeJS.Signals) => {
      for (const s of signals) process.off(s, first);
      for (const s of signals) process.once(s, () => {
        err(`${s} again: exiting without waiting for the stop to finish`);
        process.exit(130);
      });
      resolve(sig);
    };
    for (const s of signals) process.on(s, first);
  });
}

/** What a stopping process logs: SIGHUP says that it stops rather than reloads. */
export function stopMessage(sig: NodeJS.Signals): string {
  return sig === 'SIGHUP' ? 'SIGHUP: stopping (reloading the configuration is not supported; start again to apply it)' : 'stopping; a second Ctrl-C exits at once';
}

/**
 * Applies INFLUX_* environment variables (the documented way to point the server at a TSDB). The
 * token goes in as a `${INFLUX_TOKEN}` reference, as a config file must write it: the config loader
 * refuses a literal secret, and fills the reference from the same environment.
 */
export function influxFromEnv(env: Env): Record<string, string> | undefined {
  if (!env.INFLUX_URL) return undefined;
  const out: Record<string, string> = { url: env.INFLUX_URL };
  if (env.INFLUX_TOKEN) out.token = '${INFLUX_TOKEN}';
  if (env.INFLUX_ORG) out.org = env.INFLUX_ORG;
  if (env.INFLUX_BUCKET) out.bucket = env.INFLUX_BUCKET;
  return out;
}

/**
 * Where a server or gateway config keeps its data, and which of the two it is (a gateway config names
 * its gateway). Only `dataDir` is read and filled from the environment: commands that work on the data
 * (tokens, secrets) must not demand the secrets the rest of the file names.
 */
export function dataDirOf(file: string, env: Env): { dataDir: string; kind: 'server' | 'gateway'; databaseUrl?: string | undefined } {
  const doc = parseDocument(readConfigText(file), { logLevel: 'error' });
  if (doc.errors.length > 0) throw new ConfigError(file, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}` })));
  const raw: unknown = doc.toJS();
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const kind = 'gatewayId' in o ? 'gateway' : 'server';
  const { dataDir, database } = parseConfig(
    z.object({ dataDir: z.string().default(kind === 'gateway' ? './data/gateway' : './data/server'), database: z.object({ url: z.string().optional() }).optional() }),
    { dataDir: o.dataDir, database: kind === 'server' ? o.database : undefined },
    env,
    file,
  );
  return { dataDir, kind, databaseUrl: database?.url };
}

/**
 * The server's store a command works on: PostgreSQL when the server config names one (or
 * `VIGIL_DATABASE_URL` is set and no data directory was given), otherwise `server.db` in the data directory.
 */
export function serverStoreOf(where: { dataDir: string; databaseUrl?: string | undefined }): Sql {
  if (where.databaseUrl) return new PostgresSql({ url: where.databaseUrl, pool: 2, application: 'vigil-cli' });
  return new SqliteSql(openDatabase(join(resolve(where.dataDir), 'server.db')));
}
