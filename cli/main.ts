import { ConfigError, errorMessage } from '../core/index.ts';
import type { CliContext } from './context.ts';
import { credentialCommand, credentialHelp } from './commands/credential.ts';
import { demoCommand, demoHelp } from './commands/demo.ts';
import { gatewayCommand, gatewayHelp } from './commands/gateway.ts';
import { serverCommand, serverHelp } from './commands/server.ts';
import { simCommand, simHelp } from './commands/sim.ts';
import { modbusCommand, modbusHelp } from './commands/modbus.ts';
import { replayCommand, replayHelp } from './commands/replay.ts';
import { secretsCommand, secretsHelp } from './commands/secrets.ts';
import { tokenCommand, tokenHelp } from './commands/token.ts';

const COMMANDS: Record<string, (argv: string[], ctx: CliContext) => Promise<number>> = {
  gateway: gatewayCommand,
  server: serverCommand,
  sim: simCommand,
  demo: demoCommand,
  credential: credentialCommand,
  modbus: modbusCommand,
  replay: replayCommand,
  token: tokenCommand,
  secrets: secretsCommand,
};

const HELP = ['Usage: vigil <command> [options]', '', gatewayHelp, serverHelp, simHelp, demoHelp, credentialHelp, modbusHelp, replayHelp, tokenHelp, secretsHelp].join('\n\n');

/** The `vigil` command; returns the exit code. The only place that reads argv and the environment. */
export async function main(argv: string[], ctx: CliContext = { env: process.env, out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    ctx.out(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.err(`unknown command: ${name}\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest, ctx);
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.err(`vigil ${name}: configuration refused\n${err.message}`);
      return 78; // EX_CONFIG (sysexits.h)
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      ctx.err(`vigil ${name}: ${errorMessage(err)}: another process holds that port; pick another with the port flags`);
      return 1;
    }
    ctx.err(`vigil ${name}: ${errorMessage(err)}`);
    return 1;
  }
}
