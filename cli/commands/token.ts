import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog, RoleSchema, SqliteSql, TokenScopeSchema, TokenStore, openDatabase } from '../../core/index.ts';
import { type CliContext, dataDirOf, serverStoreOf } from '../context.ts';
import { tokenHelp } from '../help.ts';


export async function tokenCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { role: { type: 'string' }, name: { type: 'string' }, config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, gateway: { type: 'boolean', default: false }, sites: { type: 'string' }, customers: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [verb, arg] = positionals;
  let gateway = values.gateway;
  let dataDir = values['data-dir'];
  let databaseUrl: string | undefined;
  if (!dataDir && values.config) {
    const of = dataDirOf(values.config, ctx.env);
    dataDir = of.dataDir;
    gateway = of.kind === 'gateway';
    databaseUrl = of.databaseUrl;
  }
  if (!dataDir || !verb || !['create', 'list', 'revoke'].includes(verb)) {
    ctx.err(tokenHelp);
    return 2;
  }
  const sql = gateway ? new SqliteSql(openDatabase(join(resolve(dataDir), 'gateway.db'))) : serverStoreOf({ dataDir, databaseUrl });
  try {
    const tokens = await TokenStore.open(sql);
    const audit = await AuditLog.open(sql);
    const by = `cli:${ctx.env.USER ?? 'unknown'}`;
    if (verb === 'create') {
      const role = RoleSchema.safeParse(values.role);
      if (!role.success) {
        ctx.err(`--role must be one of ${RoleSchema.options.join(', ')}\n\n${tokenHelp}`);
        return 2;
      }
      const name = values.name ?? `${role.data}-${new Date().toISOString().slice(0, 10)}`;
      const split = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      const wanted = values.sites !== undefined || values.customers !== undefined;
      const scope = wanted ? TokenScopeSchema.safeParse({ sites: split(values.sites), customers: split(values.customers) }) : undefined;
      if (scope && !scope.success) {
        ctx.err(`--sites/--customers: ${scope.error.issues.map((i) => i.message).join('; ')}`);
        return 2;
      }
      if (scope && role.data === 'admin') {
        ctx.err('an admin token cannot be scoped: pick another role');
        return 2;
      }
      const { token, info } = await tokens.create({ name, role: role.data, scope: scope?.data, by, at: Date.now() });
      await audit.record(Date.now(), by, 'token.create', { id: info.id, name, role: role.data });
      ctx.out(`# token ${info.id} "${name}" (${role.data}); shown once, keep it in a secret store:`);
      ctx.out(token);
      return 0;
    }
    if (verb === 'list') {
      for (const t of await tokens.list()) {
        const scope = t.scope ? `\tscope ${[...t.scope.sites.map((x) => `site:${x}`), ...t.scope.customers.map((x) => `customer:${x}`)].join(',')}` : '';
        ctx.out(`${t.id}\t${t.role}\t${t.name}\t${t.revokedAt ? 'revoked' : 'active'}\tcreated ${new Date(t.createdAt).toISOString()} by ${t.createdBy}${scope}`);
      }
      return 0;
    }
    const id = Number(arg);
    if (!Number.isInteger(id) || id <= 0) {
      ctx.err(`vigil token revoke ID: ID is the number \`vigil token list\` shows`);
      return 2;
    }
    if (!(await tokens.revoke(id, Date.now()))) {
      ctx.err(`no active token ${id}`);
      return 1;
    }
    await audit.record(Date.now(), by, 'token.revoke', { id });
    ctx.out(`token ${id} revoked`);
    return 0;
  } finally {
    await sql.close();
  }
}
export { tokenHelp };
