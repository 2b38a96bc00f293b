import { parseArgs } from 'node:util';
import { GatewayIdSchema, SiteIdSchema, generateSecret, hashSecret } from '../../core/index.ts';
import type { CliContext } from '../context.ts';

export const credentialHelp = `vigil credential --gateway ID --site SITE
  Makes a password for a gateway and prints the server-config entry holding its hash. The password
  goes to the gateway's environment (uplink password), never into a file.`;

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
