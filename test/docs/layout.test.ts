import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PARTS = ['core', 'gateway', 'ingest', 'rules', 'tickets', 'dashboards', 'firmware-sim'];

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) yield path;
  }
}

/** The folders each import reaches, as `from '…'` specifiers resolved against the file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => relative(root, join(file, '..', m[1]!)).split('/')[0]!);
}

describe('layout: the server assembles the parts, and no part reaches up into it', () => {
  it('no part imports from server/, and core imports from no part', () => {
    const upward: string[] = [];
    for (const part of PARTS) {
      for (const file of sources(join(root, part))) {
        for (const top of importsOf(file)) {
          if (top === 'server' || top === 'cli' || (part === 'core' && top !== 'core' && PARTS.includes(top))) upward.push(`${relative(root, file)} → ${top}/`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('server/ holds the assembly and the config, and ingest/ only the intake path', () => {
    const server = readdirSync(join(root, 'server'));
    expect(server).toEqual(expect.arrayContaining(['build.ts', 'config.ts', 'index.ts']));
    expect(readdirSync(join(root, 'ingest'))).not.toContain('build.ts');
    // A file that imports the other parts' services to wire them is assembly, and belongs in server/.
    for (const file of sources(join(root, 'ingest'))) {
      const tops = new Set(importsOf(file));
      expect([...tops].filter((t) => t === 'tickets' || t === 'dashboards'), relative(root, file)).toEqual([]);
    }
  });
});
