import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RulesetSchema } from '../rulesets/schema.ts';
import { loadFixtures, runFixture } from './harness.ts';
import { KINDS } from './registry.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('rule kind registry', () => {
  it('has unique kinds, each with a README, an example that parses, and fixture cases', () => {
    expect(new Set(KINDS.map((k) => k.kind)).size).toBe(KINDS.length);
    for (const k of KINDS) {
      const dir = join(here, k.kind);
      expect(existsSync(join(dir, 'README.md')), `${k.kind}/README.md`).toBe(true);
      const example = parse(readFileSync(join(dir, 'example.yaml'), 'utf8')) as { rules: unknown[] };
      const parsed = RulesetSchema.safeParse({ version: 1, name: `example-${k.kind}`, ...example });
      expect(parsed.success, `${k.kind}/example.yaml: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      expect(loadFixtures(join(dir, 'testcases')).length, `${k.kind}/testcases`).toBeGreaterThan(0);
    }
  });
});

for (const k of KINDS) {
  describe(`${k.kind} fixtures`, () => {
    for (const { name, fixture } of loadFixtures(join(here, k.kind, 'testcases'))) {
      it(`${name}: ${fixture.description}`, () => {
        const fleet = fixture.siblings.length > 0;
        const got = runFixture(k.kind, fixture).map(({ event, severity, at, metric, device }) => ({ event, severity, at, ...(fixture.expect.some((e) => e.metric) ? { metric } : {}), ...(fleet ? { device } : {}) }));
        expect(got).toEqual(fixture.expect.map((e) => ({ event: e.event, severity: e.severity, at: e.at, ...(e.metric ? { metric: e.metric } : {}), ...(fleet ? { device: e.device ?? 'dev-1' } : {}) })));
      });
    }
  });
}
