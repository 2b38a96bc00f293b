import { type Logger, createLogger } from '../core/index.ts';

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

/** Applies INFLUX_* environment variables (the documented way to point the server at a TSDB). */
export function influxFromEnv(env: Env): Record<string, string> | undefined {
  if (!env.INFLUX_URL) return undefined;
  const out: Record<string, string> = { url: env.INFLUX_URL };
  if (env.INFLUX_TOKEN) out.token = env.INFLUX_TOKEN;
  if (env.INFLUX_ORG) out.org = env.INFLUX_ORG;
  if (env.INFLUX_BUCKET) out.bucket = env.INFLUX_BUCKET;
  return out;
}
