import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from './main.ts';

async function schemaOf(format: string): Promise<{ code: number; schema: Record<string, unknown> | undefined; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['schema', format], { env: {}, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, schema: out.length ? (JSON.parse(out.join('\n')) as Record<string, unknown>) : undefined, err: err.join('\n') };
}

const yamlOf = (path: string): unknown => parse(readFileSync(new URL(path, import.meta.url), 'utf8'));

// What an editor does with `vigil schema`: compile it with a real JSON Schema validator, then
// check the shipped examples pass and a misspelt key or a unitless duration is flagged.
describe('vigil schema', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });

  it.each([
    ['gateway', ['../examples/gateway.yaml']],
    ['server', ['../examples/server.yaml', '../examples/server-mosquitto.yaml']],
    ['ruleset', ['../rules/rulesets/default.yaml']],
    ['scenario', readdirSync(new URL('../firmware-sim/scenarios/', import.meta.url)).filter((f) => f.endsWith('.yaml')).map((f) => `../firmware-sim/scenarios/${f}`)],
    ['profile', readdirSync(new URL('../gateway/profiles/', import.meta.url)).filter((f) => f.endsWith('.yaml')).map((f) => `../gateway/profiles/${f}`)],
  ])('prints a valid JSON Schema for %s that the shipped files satisfy', async (format, files) => {
    const { code, schema } = await schemaOf(format);
    expect(code).toBe(0);
    const validate = ajv.compile(schema!);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const ok = validate(yamlOf(f));
      expect({ file: f, errors: ok ? null : validate.errors }).toEqual({ file: f, errors: null });
    }
  });

  it('lets an editor flag a misspelt key and a unitless duration in a gateway config', async () => {
    const validate = ajv.compile((await schemaOf('gateway')).schema!);
    const gw = yamlOf('../examples/gateway.yaml') as Record<string, unknown>;
    expect(validate({ ...gw, upLink: gw.uplink })).toBe(false);
    expect(validate.errors!.map((e) => e.params)).toContainEqual({ additionalProperty: 'upLink' });
    expect(validate({ ...gw, intake: { maxAge: 400 } })).toBe(false);
    expect(validate({ ...gw, intake: { maxAge: '400d' } })).toBe(true);
    // A `${VAR}` reference stands for the value, so its own text need not fit the field's limits.
    expect(validate({ ...gw, http: { port: 9101, apiToken: '${T}' } })).toBe(true);
    expect(validate({ ...gw, http: { port: 9101, apiToken: 'short' } })).toBe(false);
  });

  it('refuses an unknown format with usage and exit code 2', async () => {
    const r = await schemaOf('nonsense');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/vigil schema gateway\|server/);
  });
});
