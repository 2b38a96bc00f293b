import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SinkEntrySchema } from '../../ingest/index.ts';
import { DestinationEntrySchema } from '../../tickets/index.ts';
import { OUTPUT_CASES, PLUGIN_KINDS } from '../contracts/outputs.contract.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Secrets in examples are `${VAR}` references; stand-ins that pass the schemas take their place here.
const filled = (text: string) => text.replace(/"\$\{([A-Z_]+)\}"/g, (_m, name: string) => (name.endsWith('URL') ? '"https://hooks.chat.example/services/T000/B000/x"' : '"stand-in-secret-0123456789"'));

const families = [
  { folder: 'ingest/sinks', kinds: PLUGIN_KINDS.sinks, entries: (doc: unknown) => (doc as { sinks: unknown[] }).sinks, schema: SinkEntrySchema },
  { folder: 'tickets/destinations', kinds: PLUGIN_KINDS.destinations, entries: (doc: unknown) => (doc as { tickets: { destinations: unknown[] } }).tickets.destinations, schema: DestinationEntrySchema },
];

describe('output plugins: one folder and one registry line each', () => {
  for (const f of families) {
    it(`${f.folder}: every folder is a registered kind with its README, an example.yaml that parses, and a place in the contract suite`, () => {
      const dir = join(root, f.folder);
      const folders = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory());
      expect(folders.sort()).toEqual([...f.kinds].sort());
      for (const kind of f.kinds) {
        expect(existsSync(join(dir, kind, 'README.md')), `${kind}/README.md`).toBe(true);
        const entries = f.entries(parse(filled(readFileSync(join(dir, kind, 'example.yaml'), 'utf8'))));
        expect(entries.length, `${kind}/example.yaml`).toBeGreaterThan(0);
        for (const e of entries) {
          const r = f.schema.safeParse(e);
          expect(r.success, `${kind}/example.yaml: ${r.success ? '' : r.error.message}`).toBe(true);
        }
        expect(OUTPUT_CASES.map((c) => c.kind), `${kind} in test/contracts/outputs.contract.ts`).toContain(kind);
      }
    });
  }
});
