import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { ConfigError, createRegistry, parseConfig, readConfigText, systemClock } from '../../core/index.ts';
import { ServerConfigSchema, buildServer } from '../../server/index.ts';
import { type CliContext, cliLogger, influxFromEnv, stopMessage, untilSignal } from '../context.ts';
import { serverHelp } from '../help.ts';
import { runWorkers, workerConfig, workerCount, workerIndex, workerMetrics } from '../../server/workers.ts';


export async function serverCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, workers: { type: 'string' } }, strict: true });
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
  const parsed = parseConfig(ServerConfigSchema, raw, ctx.env, values.config);
  const index = workerIndex(ctx.env);
  const workers = index === undefined ? workerCount(parsed, values.workers) : 1;
  if (typeof workers === 'string') {
    ctx.err(`vigil server: ${workers}`);
    return 2;
  }
  const log = cliLogger(ctx.env, 'vigil-server');
  if (workers > 1) {
    await runWorkers(parsed, workers, ctx.env, log, untilSignal());
    return 0;
  }
  const config = index === undefined ? parsed : workerConfig(parsed, index);
  const registry = createRegistry({ defaultMetrics: true });
  const server = await buildServer(config, {
    log,
    clock: systemClock,
    registry,
    secretKeys: { current: ctx.env.VIGIL_SECRET_KEY, previous: ctx.env.VIGIL_SECRET_KEY_OLD },
    ownPort: index !== undefined,
    // A worker's /metrics shows every worker's series, labelled by worker.
    ...(index !== undefined ? { metrics: workerMetrics(registry) } : {}),
  });
  await server.start();
  const sig = await untilSignal();
  log.info({ signal: sig }, stopMessage(sig));
  await server.stop();
  return 0;
}
export { serverHelp };
