import { ConfigError, errorMessage } from '../core/runtime/errors.ts';
import type { CliContext } from './context.ts';
import { EXIT } from './exit-codes.ts';
import { backupHelp, credentialHelp, dbHelp, exportHelp, demoHelp, gatewayHelp, modbusHelp, replayHelp, schemaHelp, secretsHelp, serverHelp, simHelp, tokenHelp } from './help.ts';

type Command = (argv: string[], ctx: CliContext) => Promise<number>;

// Each command loads its part of the system only when it runs: `vigil --help` and a gateway do not
// pay for the server's modules, nor the other way round.
const COMMANDS: Record<string, () => Promise<Command>> = {
  gateway: async () => (await import('./commands/gateway.ts')).gatewayCommand,
  server: async () => (await import('./commands/server.ts')).serverCommand,
  sim: async () => (await import('./commands/sim.ts')).simCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  credential: async () => (await import('./commands/credential.ts')).credentialCommand,
  modbus: async () => (await import('./commands/modbus.ts')).modbusCommand,
  replay: async () => (await import('./commands/replay.ts')).replayCommand,
  token: async () => (await import('./commands/token.ts')).tokenCommand,
  secrets: async () => (await import('./commands/secrets.ts')).secretsCommand,
  schema: async () => (await import('./commands/schema.ts')).schemaCommand,
  backup: async () => (await import('./commands/backup.ts')).backupCommand,
  restore: async () => (await import('./commands/backup.ts')).restoreCommand,
  export: async () => (await import('./commands/export.ts')).exportCommand,
  db: async () => (await import('./commands/db.ts')).dbCommand,
};

const HELPS: Record<string, string> = {
  gateway: gatewayHelp,
  server: serverHelp,
  sim: simHelp,
  demo: demoHelp,
  credential: credentialHelp,
  modbus: modbusHelp,
  replay: replayHelp,
  token: tokenHelp,
  secrets: secretsHelp,
  schema: schemaHelp,
  backup: backupHelp,
  restore: backupHelp,
  export: exportHelp,
  db: dbHelp,
};

const HELP = [
  'Usage: vigil <command> [options]   (vigil <command> --help for one)',
  '',
  ...new Set(Object.values(HELPS)),
  'Exit codes: 0 ok, 1 failure at run time, 2 usage, 65 bad input data, 66 missing input file, 78 bad configuration.',
].join('\n\n');

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
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(HELPS[name]!);
    return EXIT.ok;
  }
  try {
    return await (await command())(rest, ctx);
  } catch (err) {
    if (err instanceof ConfigError) {
      // A file that is not there is missing input, not a bad configuration.
      if (err.issues.length === 1 && err.issues[0]!.message.startsWith('cannot read')) {
        ctx.err(`vigil ${name}: ${err.source}: ${err.issues[0]!.message}`);
        return EXIT.noInput;
      }
      ctx.err(`vigil ${name}: configuration refused\n${err.message}`);
      return EXIT.config;
    }
    // node:util parseArgs: an option the command does not know, or one missing its value.
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      ctx.err(`vigil ${name}: ${errorMessage(err)}\n\n${HELPS[name]}`);
      return EXIT.usage;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      ctx.err(`vigil ${name}: ${errorMessage(err)}: another process holds that port; pick another with the port flags`);
      return 1;
    }
    ctx.err(`vigil ${name}: ${errorMessage(err)}`);
    return EXIT.failure;
  }
}
