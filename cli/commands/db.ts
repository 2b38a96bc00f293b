import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PostgresSql, SqliteSql, openDatabase, redactUrl } from '../../core/index.ts';
import { copyStore, migrateServerStore } from '../../server/store.ts';
import { type CliContext, dataDirOf, serverStoreOf } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { dbHelp } from '../help.ts';
import { backupCommand, restoreCommand } from './backup.ts';

const POSTGRES_URL = /^postgres(ql)?:\/\//;

export async function dbCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'migrate') return migrateCommand(rest, ctx);
  if (verb === 'copy') return copyCommand(rest, ctx);
  if (verb === 'backup' || verb === 'restore') return backupOrRestore(verb, rest, ctx);
  ctx.err(dbHelp);
  return EXIT.usage;
}

async function migrateCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, database: { type: 'string' } }, strict: true });
  const of = values.config ? dataDirOf(values.config, ctx.env) : undefined;
  const databaseUrl = values.database ?? of?.databaseUrl;
  const dataDir = values['data-dir'] ?? of?.dataDir;
  if (databaseUrl !== undefined && !POSTGRES_URL.test(databaseUrl)) {
    ctx.err(`--database: a PostgreSQL URL (postgres://user@host:5432/database), not ${redactUrl(databaseUrl)}`);
    return EXIT.usage;
  }
  if (!databaseUrl && !dataDir) {
    ctx.err(dbHelp);
    return EXIT.usage;
  }
  const sql = serverStoreOf({ dataDir: dataDir ?? '.', databaseUrl });
  try {
    await migrateServerStore(sql);
    const applied = await sql.all<{ id: string }>('SELECT id FROM schema_migration ORDER BY id');
    ctx.out(`${databaseUrl ? redactUrl(databaseUrl) : resolve(dataDir!, 'server.db')}: ${applied.length} migrations applied, schema current`);
    return EXIT.ok;
  } finally {
    await sql.close();
  }
}

async function copyCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' } }, strict: true });
  const from = values.from?.replace(/^sqlite:/, '');
  const to = values.to ?? ctx.env.VIGIL_DATABASE_URL;
  if (!from || !to) {
    ctx.err(dbHelp);
    return EXIT.usage;
  }
  if (!POSTGRES_URL.test(to)) {
    ctx.err(`--to: a PostgreSQL URL (postgres://user@host:5432/database), not ${redactUrl(to)}`);
    return EXIT.usage;
  }
  if (!existsSync(from)) {
    ctx.err(`vigil db copy: no SQLite file ${from} (the server's is server.db in its data directory)`);
    return EXIT.noInput;
  }
  const source = new SqliteSql(openDatabase(resolve(from)));
  const target = new PostgresSql({ url: to, pool: 2, application: 'vigil-db-copy' });
  try {
    const report = await copyStore(source, target, (line) => ctx.err(line));
    for (const t of report.tables) ctx.out(`${t.table}\t${t.source}\t${t.target}\t${t.source === t.target ? 'ok' : 'DIFFERENT'}`);
    if (report.local.length) ctx.err(`kept on the server's own disk, not copied: ${report.local.join(', ')}`);
    ctx.err(report.ok ? `copied into ${redactUrl(to)}; every table has the same count of rows` : 'the counts differ: the copy is not complete');
    return report.ok ? EXIT.ok : EXIT.failure;
  } catch (err) {
    ctx.err(`vigil db copy: ${(err as Error).message}`);
    return EXIT.failure;
  } finally {
    await source.close();
    await target.close();
  }
}

async function backupOrRestore(verb: 'backup' | 'restore', argv: string[], ctx: CliContext): Promise<number> {
  const config = argv.findIndex((a) => a === '-c' || a === '--config');
  const file = config >= 0 ? argv[config + 1] : argv.find((a) => a.startsWith('--config='))?.slice(9);
  if (file && dataDirOf(file, ctx.env).databaseUrl) {
    ctx.err(`vigil db ${verb}: this server's store is PostgreSQL; use ${verb === 'backup' ? 'pg_dump -Fc' : 'pg_restore'} (README: Running on PostgreSQL)`);
    return EXIT.usage;
  }
  return verb === 'backup' ? backupCommand(argv, ctx) : restoreCommand(argv, ctx);
}
