import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { ConfigError, createRegistry, parseConfig, readConfigText, systemClock } from '../../core/index.ts';
import { ServerConfigSchema, buildServer } from '../../server/index.ts';
import { type CliContext, cliLogger, influxFromEnv, stopMessage, untilSignal } from '../context.ts';
import { serverHelp } from '../help.ts';


export async function serverCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true });
  if (!values.config) {
    ctx.err(serverHelp);
    return 2;
  }
  let raw: Record<string, unknown>;
  const text = readConfigText(values.config);
  try {
    raw = (parseDocument(text, { logLevel: 'error' }).toJS() ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(values.config, [{ path: '', message: `YAML: ${String(err)}` }]);
  }
  const influx = influxFromEnv(ctx.env);
  // INFLUX_URL stands for an influxdb sink when the file names no sink of its own.
  if (raw.influx === undefined && raw.sinks === undefined && influx) raw.sinks = [{ kind: 'influxdb', ...influx }];
  const config = parseConfig(ServerConfigSchema, raw, ctx.env, values.config);
  const log = cliLogger(ctx.env, 'vigil-server');
  const server = await buildServer(config, {
    log,
    clock: systemClock,
    registry: createRegistry({ defaultMetrics: true }),
    secretKeys: { current: ctx.env.VIGIL_SECRET_KEY, previous: ctx.env.VIGIL_SECRET_KEY_OLD },
  });
  await server.start();
  const sig = await untilSignal();
  log.info({ signal: sig }, stopMessage(sig));
  await server.stop();
  return 0;
}
export { serverHelp };
