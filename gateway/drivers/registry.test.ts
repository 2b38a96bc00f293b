import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_IDS, parseConfigText } from '../../core/index.ts';
import { DRIVERS, DriverConfigSchema } from './registry.ts';

// What no single driver can check about itself (STYLE.md, habit 1).
describe('driver registry', () => {
  it('has unique kinds, each accepted by the gateway config union', () => {
    const kinds = DRIVERS.map((d) => d.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it.each(DRIVERS.map((d) => [d.kind, d]))('%s ships a README, tests and an example.yaml that parses', (kind) => {
    const dir = new URL(`./${kind}/`, import.meta.url);
    expect(existsSync(new URL('README.md', dir))).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.test.ts'))).toBe(true);
    const example = readFileSync(new URL('example.yaml', dir), 'utf8');
    const config = parseConfigText(DriverConfigSchema, example, { SENSOR_PASSWORD: 'x' }, `${kind}/example.yaml`);
    expect(config.kind).toBe(kind);
    for (const m of example.matchAll(/metric:\s*([a-z_]+)/g)) expect(METRIC_IDS).toContain(m[1]);
  });
});
