import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SINKS, SinkEntrySchema } from './registry.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('sink registry', () => {
  it('has one folder per kind, each with its README and an example.yaml that parses, and no folder left out', () => {
    const folders = readdirSync(here).filter((f) => statSync(join(here, f)).isDirectory());
    expect(folders.sort()).toEqual(SINKS.map((s) => s.kind).sort());
    for (const s of SINKS) {
      expect(existsSync(join(here, s.kind, 'README.md')), `${s.kind}/README.md`).toBe(true);
      const example = parse(readFileSync(join(here, s.kind, 'example.yaml'), 'utf8')) as { sinks: unknown[] };
      for (const entry of example.sinks) expect(SinkEntrySchema.safeParse(entry).success, `${s.kind}/example.yaml`).toBe(true);
    }
  });

  it('refuses an unknown kind and another kind’s settings', () => {
    expect(SinkEntrySchema.safeParse({ kind: 'carrier-pigeon', url: 'http://x' }).success).toBe(false);
    expect(SinkEntrySchema.safeParse({ kind: 'influxdb', url: 'http://127.0.0.1:8428', colour: 'red' }).success).toBe(false);
    expect(SinkEntrySchema.safeParse({ kind: 'influxdb' }).success).toBe(false);
  });
});
