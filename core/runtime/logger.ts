import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they appear in a logged object. */
export const REDACTED_KEYS = ['password', 'token', 'secret', 'passwordHash', 'authorization', 'apiToken'];

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** Human-readable lines instead of JSON (for the demo in a terminal). */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  return pino({
    name: opts.name ?? 'vigil',
    level: opts.level ?? 'info',
    redact: { paths, censor: '[redacted]' },
    ...(opts.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } }
      : {}),
  });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
