import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog, SecretBox, secretKeyOrFile } from '../../core/index.ts';
import { WebhookOutbox } from '../../tickets/index.ts';
import { type CliContext, dataDirOf, serverStoreOf } from '../context.ts';
import { secretsHelp } from '../help.ts';


export async function secretsCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' } }, allowPositionals: true, strict: true });
  const of = values.config && !values['data-dir'] ? dataDirOf(values.config, ctx.env) : undefined;
  const dataDir = values['data-dir'] ?? of?.dataDir;
  if (positionals[0] !== 'rotate' || !dataDir) {
    ctx.err(secretsHelp);
    return 2;
  }
  const next = ctx.env.VIGIL_SECRET_KEY;
  if (!next) {
    ctx.err('vigil secrets rotate: set VIGIL_SECRET_KEY to the new key (e.g. openssl rand -base64 32)');
    return 2;
  }
  const keyFile = join(resolve(dataDir), 'secret.key');
  const previous = ctx.env.VIGIL_SECRET_KEY_OLD ?? (existsSync(keyFile) ? secretKeyOrFile(undefined, keyFile).key : undefined);
  const sql = serverStoreOf({ dataDir, databaseUrl: of?.databaseUrl });
  try {
    const outbox = await WebhookOutbox.open(sql, new SecretBox(next, previous ? [previous] : []));
    const n = await outbox.reseal();
    const by = `cli:${ctx.env.USER ?? 'unknown'}`;
    await (await AuditLog.open(sql)).record(Date.now(), by, 'secrets.rotate', { resealed: n });
    ctx.out(`${n} secret(s) sealed with the new key`);
    if (!ctx.env.VIGIL_SECRET_KEY_OLD && existsSync(keyFile)) ctx.out(`the key file ${keyFile} is no longer needed once the server runs with VIGIL_SECRET_KEY; delete it`);
    return 0;
  } finally {
    await sql.close();
  }
}
export { secretsHelp };
