import { parseArgs } from 'node:util';
import { loadConfigFile, systemClock } from '../../core/index.ts';
import { ScenarioRunner, ScenarioSchema } from '../../firmware-sim/index.ts';
import { type CliContext, cliLogger, untilSignal } from '../context.ts';
import { simHelp } from '../help.ts';


export async function simCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { url: { type: 'string', default: 'mqtt://127.0.0.1:1883' }, username: { type: 'string' }, speed: { type: 'string' } },
    strict: true,
  });
  const file = positionals[0];
  if (!file) {
    ctx.err(simHelp);
    return 2;
  }
  const loaded = loadConfigFile(ScenarioSchema, file, ctx.env);
  const speed = values.speed === undefined ? loaded.speed : Number(values.speed);
  if (!(speed > 0)) {
    ctx.err(`--speed must be a positive number, got ${values.speed}`);
    return 2;
  }
  const scenario = { ...loaded, speed };
  const log = cliLogger(ctx.env, 'vigil-sim');
  const runner = new ScenarioRunner(scenario, { url: values.url, username: values.username, password: ctx.env.VIGIL_SIM_PASSWORD, log, clock: systemClock });
  ctx.out(`scenario ${scenario.name}: ${scenario.devices.length} devices on site ${scenario.site}`);
  for (const t of runner.truth) {
    ctx.out(`  ground truth: ${t.deviceId} ${t.fault} from ${new Date(t.onset).toISOString()}, fails at ${new Date(t.failsAt).toISOString()}`);
  }
  await runner.start();
  if (runner.modbus) ctx.out(`  Modbus devices listen on 127.0.0.1:${runner.modbus.port}`);
  const outcome = await Promise.race([runner.finished.then(() => 'finished' as const), untilSignal()]);
  const stats = runner.stats();
  await runner.stop();
  ctx.out(`${outcome === 'finished' ? 'scenario finished' : 'stopped'}: ${stats.published} messages published`);
  return 0;
}
export { simHelp };
