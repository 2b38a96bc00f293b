import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they appear in a logged object. */
export const REDACTED_KEYS = ['password', 'token', 'secret', 'passwordHash', 'authorization', 'apiToken'];

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** Human-readable lines instead of JSON (for the demo in a terminal). */
  pretty?: boolean;
  /** Where lines go (stdout by default). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  const options = {
    name: opts.name ?? 'vigil',
    level: opts.level ?? 'info',
    redact: { paths, censor: '[redacted]' },
    ...(opts.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } }
      : {}),
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
