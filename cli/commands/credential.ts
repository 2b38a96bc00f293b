import { parseArgs } from 'node:util';
import { GatewayIdSchema, SiteIdSchema, generateSecret, hashSecret } from '../../core/index.ts';
import type { CliContext } from '../context.ts';
import { credentialHelp } from '../help.ts';


export async function credentialCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { gateway: { type: 'string' }, site: { type: 'string' } }, strict: true });
  const g = GatewayIdSchema.safeParse(values.gateway);
  const s = SiteIdSchema.safeParse(values.site);
  if (!g.success || !s.success) {
    ctx.err(credentialHelp);
    return 2;
  }
  const password = generateSecret();
  ctx.out(`# gateway password (set VIGIL_UPLINK_PASSWORD=... on the gateway; shown once):`);
  ctx.out(password);
  ctx.out(`# server config, under broker.gateways:`);
  ctx.out(`- { gatewayId: ${g.data}, site: ${s.data}, passwordHash: "${hashSecret(password)}" }`);
  return 0;
}
export { credentialHelp };
