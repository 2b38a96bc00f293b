import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// npm ci warned EBADENGINE on the Node the README names (cookie@2 through fastify wanted Node 22):
// every locked package must accept the oldest Node the project declares.
describe('locked dependencies and the supported Node', () => {
  it('has no package whose engines refuse the Node version in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }> };
    const refusing = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(oldest, p.engines.node))
      .map(([path, p]) => `${path} (${(p.engines as { node: string }).node})`);
    expect(refusing).toEqual([]);
  });
});

// Regression (#12): the README used three names for the API token (VIGIL_DEMO_TOKEN, VIGIL_API_TOKEN,
// VIGIL_TOKEN); a reader copying one block into the next got a 401.
describe('README token variables', () => {
  it('names the API token one way everywhere (INFLUX_TOKEN is the TSDB’s, not the API’s)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const names = new Set([...readme.matchAll(/\b[A-Z][A-Z0-9_]*TOKEN[A-Z0-9_]*\b/g)].map((m) => m[0]));
    expect([...names].sort()).toEqual(['INFLUX_TOKEN', 'VIGIL_TOKEN']);
  });
});
