import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/tmp.ts';
import { main } from './main.ts';

function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return main(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
}

describe('vigil command', () => {
  it('prints usage, and refuses unknown commands with exit code 2', async () => {
    expect((await run(['help'])).out).toMatch(/vigil gateway -c FILE/);
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command: frobnicate/);
  });

  it('refuses a bad config with every problem and its path, exit code 78, before connecting anything', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'gw.yaml');
    writeFileSync(file, 'version: 1\nsite: plant-a\ngatewayId: "gw 1"\ndrivers: []\nuplink: { url: "http://x", password: hunter2 }\n');
    const r = await run(['gateway', '-c', file]);
    tmp.cleanup();
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/gatewayId: gateway id must be/);
    expect(r.err).toMatch(/drivers: /);
    expect(r.err).toMatch(/uplink\.url: an mqtt/);
    expect(r.err).toMatch(/uplink\.password: secrets must come from the environment/);
    expect(r.err).not.toMatch(/hunter2/);
  });

  it('says which file it cannot read', async () => {
    const r = await run(['server', '-c', '/nonexistent/server.yaml']);
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/nonexistent\/server\.yaml/);
  });

  it('makes gateway credentials whose hash the server config accepts', async () => {
    const r = await run(['credential', '--gateway', 'gw-1', '--site', 'plant-a']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/passwordHash: "scrypt\$/);
    expect((await run(['credential', '--gateway', 'gw 1', '--site', 'plant-a'])).code).toBe(2);
  });
});
