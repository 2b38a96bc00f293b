import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { type CliContext, dataDirOf } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { backupHelp } from '../help.ts';

/** Files beside the databases that a restored process needs: the key that seals stored secrets. */
const EXTRA_FILES = ['secret.key'] as const;

// Names only, never paths: a manifest edited to say `../../etc/x` must not make restore write there.
const ManifestSchema = z.strictObject({
  format: z.literal('vigil-backup/1'),
  kind: z.enum(['server', 'gateway', 'unknown']),
  at: z.string(),
  databases: z.array(z.strictObject({ file: z.string().regex(/^[a-z][a-z0-9_-]*\.db$/, 'a database file name'), bytes: z.number().int() })).max(16),
  files: z.array(z.enum(EXTRA_FILES)),
});

function target(values: { config?: string | undefined; 'data-dir'?: string | undefined }, ctx: CliContext): { dataDir: string; kind: 'server' | 'gateway' | 'unknown' } | undefined {
  if (values['data-dir']) return { dataDir: resolve(values['data-dir']), kind: 'unknown' };
  if (values.config) {
    const of = dataDirOf(values.config, ctx.env);
    return { dataDir: resolve(of.dataDir), kind: of.kind };
  }
  return undefined;
}

export async function backupCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, to: { type: 'string' } }, strict: true });
  const from = target(values, ctx);
  if (!from || !values.to) {
    ctx.err(backupHelp);
    return EXIT.usage;
  }
  const to = resolve(values.to);
  if (!existsSync(from.dataDir)) {
    ctx.err(`vigil backup: no data directory ${from.dataDir}`);
    return EXIT.noInput;
  }
  if (existsSync(to)) {
    ctx.err(`vigil backup: ${to} exists; give a new directory, so no backup is ever overwritten`);
    return EXIT.failure;
  }
  const dbs = readdirSync(from.dataDir).filter((f) => f.endsWith('.db')).sort();
  if (dbs.length === 0) {
    ctx.err(`vigil backup: ${from.dataDir} holds no database; is it the data directory of a server or gateway that has run?`);
    return EXIT.noInput;
  }
  mkdirSync(to, { recursive: true, mode: 0o700 });
  const databases: { file: string; bytes: number }[] = [];
  for (const file of dbs) {
    // A second connection to the live file: VACUUM INTO reads one snapshot (WAL keeps the writer
    // going meanwhile) and writes a compact, self-contained copy, with no -wal file to forget.
    const db = new Database(join(from.dataDir, file), { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare('VACUUM INTO ?').run(join(to, file));
    } finally {
      db.close();
    }
    databases.push({ file, bytes: statSync(join(to, file)).size });
  }
  const files = EXTRA_FILES.filter((f) => existsSync(join(from.dataDir, f)));
  for (const f of files) copyFileSync(join(from.dataDir, f), join(to, f));
  const manifest = { format: 'vigil-backup/1' as const, kind: from.kind, at: new Date().toISOString(), databases, files };
  writeFileSync(join(to, 'backup.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  ctx.out(`backed up ${from.dataDir} to ${to}: ${databases.map((d) => `${d.file} (${Math.round(d.bytes / 1024)} KiB)`).join(', ')}${files.length ? `, ${files.join(', ')}` : ''}`);
  return EXIT.ok;
}

export async function restoreCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, from: { type: 'string' } }, strict: true });
  const into = target(values, ctx);
  if (!into || !values.from) {
    ctx.err(backupHelp);
    return EXIT.usage;
  }
  const from = resolve(values.from);
  let manifest: z.infer<typeof ManifestSchema>;
  try {
    manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(from, 'backup.json'), 'utf8')));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    ctx.err(`vigil restore: ${from} is not a Vigil backup (${missing ? 'no backup.json' : 'backup.json unreadable'})`);
    return missing ? EXIT.noInput : EXIT.dataErr;
  }
  if (into.kind !== 'unknown' && manifest.kind !== 'unknown' && into.kind !== manifest.kind) {
    ctx.err(`vigil restore: this is a ${manifest.kind} backup; the config is a ${into.kind}'s`);
    return EXIT.dataErr;
  }
  const present = existsSync(into.dataDir) ? readdirSync(into.dataDir).filter((f) => f.endsWith('.db') || f.endsWith('.db-wal') || (EXTRA_FILES as readonly string[]).includes(f)) : [];
  if (present.length > 0) {
    ctx.err(`vigil restore: ${into.dataDir} already holds ${present.join(', ')}; restore into an empty directory (stop the process, move the old one aside)`);
    return EXIT.failure;
  }
  mkdirSync(into.dataDir, { recursive: true, mode: 0o750 });
  for (const d of manifest.databases) {
    // A copy that does not open as SQLite, or is truncated, is refused before it replaces anything.
    const db = new Database(join(from, d.file), { readonly: true, fileMustExist: true });
    try {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`${d.file}: ${String(check)}`);
    } finally {
      db.close();
    }
    copyFileSync(join(from, d.file), join(into.dataDir, d.file));
  }
  for (const f of manifest.files) copyFileSync(join(from, f), join(into.dataDir, f));
  ctx.out(`restored ${manifest.kind} backup of ${manifest.at} into ${into.dataDir}: ${[...manifest.databases.map((d) => d.file), ...manifest.files].join(', ')}`);
  return EXIT.ok;
}
