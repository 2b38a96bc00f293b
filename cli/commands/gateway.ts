import { parseArgs } from 'node:util';
import { createRegistry, dropPacketIdCache, loadConfigFile, systemClock } from '../../core/index.ts';
import { GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { type CliContext, cliLogger, stopMessage, untilSignal } from '../context.ts';
import { gatewayHelp } from '../help.ts';


export async function gatewayCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true });
  if (!values.config) {
    ctx.err(gatewayHelp);
    return 2;
  }
  const config = loadConfigFile(GatewayConfigSchema, values.config, ctx.env);
  const log = cliLogger(ctx.env, 'vigil-gateway');
  dropPacketIdCache();
  // Process metrics (CPU, memory, event-loop lag) are collected only where someone can read them: a
  // gateway without its API has no /metrics, and on an edge box the collectors are memory for nothing.
  const gateway = buildGateway(config, { log, clock: systemClock, registry: createRegistry({ defaultMetrics: config.http !== undefined }) });
  await gateway.start();
  const sig = await untilSignal();
  log.info({ signal: sig }, stopMessage(sig));
  await gateway.stop();
  return 0;
}
export { gatewayHelp };
