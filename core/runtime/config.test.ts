import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DurationSchema, parseConfigText, parseDuration } from './config.ts';
import { configProblems } from '../../test/helpers/config.ts';

const Schema = z.strictObject({
  name: z.string(),
  port: z.number().int(),
  uplink: z.strictObject({ url: z.string().url(), password: z.string().optional() }),
  every: DurationSchema.prefault('1s'),
});

const problems = (text: string, env: Record<string, string> = {}): string[] => configProblems(() => parseConfigText(Schema, text, env, 'test.yaml'));

describe('config loader', () => {
  it('names a misspelt key rather than the environment variable its value refers to', () => {
    const p = problems('name: a\nport: 1\nuplink: { url: "http://x.example", pasword: "${UPLINK_PASSWORD}" }\n');
    expect(p).toEqual([expect.stringMatching(/^uplink: Unrecognized key: "pasword"/)]);
    // A correctly spelt key still says which variable is missing.
    expect(problems('name: a\nport: 1\nuplink: { url: "http://x.example", password: "${UPLINK_PASSWORD}" }\n')).toEqual(['uplink.password: environment variable UPLINK_PASSWORD is not set']);
  });

  it('refuses hostile YAML with a ConfigError, never a crash (found by the fuzz drill)', () => {
    expect(problems('a: &a [*a]')[0]).toMatch(/nested too deep/);
    expect(problems('a: *later\nb: &later 1')[0]).toMatch(/YAML: .*alias/);
    expect(problems(`a: &x [${'1,'.repeat(50)}1]\nb: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x,*x]\nc: [*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y]`).length).toBeGreaterThan(0);
  });

  it('reports every problem at once, each with its path', () => {
    const p = problems('name: 3\nport: "x"\nuplink: { url: nope, extra: 1 }\nevery: soon\n');
    expect(p).toEqual(
      expect.arrayContaining([expect.stringMatching(/^name: /), expect.stringMatching(/^port: /), expect.stringMatching(/^uplink.url: /), expect.stringMatching(/^uplink: .*extra/), expect.stringMatching(/^every: not a duration/)]),
    );
  });

  it('fills ${VAR} and ${VAR:-default} from the environment and reports unset ones', () => {
    const c = parseConfigText(Schema, 'name: ${NAME}\nport: 1\nuplink: { url: "mqtt://${HOST:-localhost}:1883" }\n', { NAME: 'gw' });
    expect(c).toMatchObject({ name: 'gw', uplink: { url: 'mqtt://localhost:1883' }, every: 1000 });
    expect(problems('name: ${MISSING}\nport: 1\nuplink: { url: "mqtt://x" }\n')).toEqual(['name: environment variable MISSING is not set']);
  });

  it('refuses secrets written into the file', () => {
    expect(problems('name: a\nport: 1\nuplink: { url: "mqtt://x", password: hunter2 }\n')).toEqual([
      'uplink.password: secrets must come from the environment: write ${SOME_VAR} here',
    ]);
    const ok = parseConfigText(Schema, 'name: a\nport: 1\nuplink: { url: "mqtt://x", password: "${PW}" }\n', { PW: 's3cret' });
    expect(ok.uplink.password).toBe('s3cret');
  });

  it('reports YAML syntax errors and freezes the result', () => {
    expect(problems('name: [unclosed\n')[0]).toMatch(/YAML/);
    const c = parseConfigText(Schema, 'name: a\nport: 1\nuplink: { url: "mqtt://x" }\n', {});
    expect(Object.isFrozen(c.uplink)).toBe(true);
  });

  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    ['fast', undefined],
    ['250', undefined],
    ['-1s', undefined],
  ])('parses the duration %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  // Regression (#12): `pollInterval: 1` was read as 1 ms; a bare number is now refused with a hint.
  it.each([1, 250, '1'])('refuses the unitless duration %j with a hint', (value) => {
    const r = DurationSchema.safeParse(value);
    expect(r.success).toBe(false);
    const message = r.error!.issues[0]!.message;
    expect(message).toMatch(typeof value === 'number' ? /needs a unit.*"1s"|needs a unit.*"250s"/ : /not a duration/);
    expect(message).toContain('30s');
  });

  it('reports a bare-number pollInterval in a config with its path', () => {
    const Schema = z.strictObject({ modbus: z.strictObject({ pollInterval: DurationSchema }) });
    expect(() => parseConfigText(Schema, 'modbus:\n  pollInterval: 1\n', {})).toThrow(/modbus\.pollInterval.*needs a unit/s);
  });
});
