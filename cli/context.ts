import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Logger, createLogger, parseConfig, readConfigText } from '../core/index.ts';

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

/** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
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
export function dataDirOf(file: string, env: Env): { dataDir: string; kind: 'server' | 'gateway' } {
  const doc = parseDocument(readConfigText(file), { logLevel: 'error' });
  if (doc.errors.length > 0) throw new ConfigError(file, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}` })));
  const raw: unknown = doc.toJS();
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const kind = 'gatewayId' in o ? 'gateway' : 'server';
  const { dataDir } = parseConfig(z.object({ dataDir: z.string().default(kind === 'gateway' ? './data/gateway' : './data/server') }), { dataDir: o.dataDir }, env, file);
  return { dataDir, kind };
}
