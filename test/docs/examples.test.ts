import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseConfigText } from '../../core/index.ts';
import { ScenarioSchema } from '../../firmware-sim/index.ts';
import { GatewayConfigSchema } from '../../gateway/index.ts';
import { ServerConfigSchema } from '../../server/index.ts';
import { ProfileSchema } from '../../gateway/modbus/index.ts';
import { RulesetSchema } from '../../rules/index.ts';

const SCHEMAS: Record<string, z.ZodType> = { gateway: GatewayConfigSchema, server: ServerConfigSchema, scenario: ScenarioSchema, profile: ProfileSchema, ruleset: RulesetSchema };

/** Every ${VAR} in a text, set to a plausible value, as an operator's environment would. */
function envFor(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)) env[m[1]!] = m[1]!.endsWith('URL') ? 'http://127.0.0.1:8428' : 'a-long-enough-secret-value';
  return env;
}

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README config examples', () => {
  it('has examples, each naming the schema it follows', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const b of blocks) expect(b).toMatch(/^# file: (gateway|server|scenario|profile|ruleset)\n/);
  });

  it.each(blocks.map((b, i) => [i, b.split('\n')[0], b]))('example %i (%s) parses', (_i, _label, block) => {
    const kind = /^# file: (\w+)/.exec(block)![1]!;
    expect(() => parseConfigText(SCHEMAS[kind]!, block, envFor(block), `README example`)).not.toThrow();
  });
});

describe('examples/ configs', () => {
  const dir = new URL('../../examples/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it.each(files)('%s parses', (file) => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const schema = file.startsWith('gateway') ? GatewayConfigSchema : ServerConfigSchema;
    expect(() => parseConfigText(schema, text, envFor(text), file)).not.toThrow();
  });
});
