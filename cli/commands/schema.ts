import { type z } from 'zod';
import { configJsonSchema } from '../../core/index.ts';
import { ScenarioSchema } from '../../firmware-sim/index.ts';
import { GatewayConfigSchema } from '../../gateway/index.ts';
import { ProfileSchema } from '../../gateway/modbus/index.ts';
import { ServerConfigSchema } from '../../server/index.ts';
import { RulesetSchema } from '../../rules/index.ts';
import type { CliContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { schemaHelp } from '../help.ts';

const FORMATS: Record<string, { schema: z.ZodType; title: string }> = {
  gateway: { schema: GatewayConfigSchema, title: 'Vigil gateway configuration' },
  server: { schema: ServerConfigSchema, title: 'Vigil server configuration' },
  ruleset: { schema: RulesetSchema, title: 'Vigil ruleset' },
  scenario: { schema: ScenarioSchema, title: 'Vigil simulation scenario' },
  profile: { schema: ProfileSchema, title: 'Vigil Modbus device profile' },
};


export function schemaCommand(argv: string[], ctx: CliContext): Promise<number> {
  const format = argv.length === 1 ? FORMATS[argv[0]!] : undefined;
  if (!format) {
    ctx.err(schemaHelp);
    return Promise.resolve(EXIT.usage);
  }
  ctx.out(JSON.stringify(configJsonSchema(format.schema, format.title), null, 2));
  return Promise.resolve(EXIT.ok);
}
export { schemaHelp };
