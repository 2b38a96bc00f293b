import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8');

/** The README's shell blocks: ```sh runs, ```sh norun is an example with placeholders (a device's address, `npm ci`). */
export function shellBlocks(markdown: string): { run: boolean; text: string }[] {
  return [...markdown.matchAll(/```sh( norun)?\n([\s\S]*?)```/g)].map((m) => ({ run: !m[1], text: m[2]! }));
}

interface Ports {
  http: number;
  mqtt: number;
  sensors: number;
  modbus: number;
}

/**
 * The block as a user runs it, with two changes a test needs: the demo's fixed ports become free ones
 * (so a run never collides with anything on the machine), and its data directory a temporary one.
 */
function localise(text: string, a: Ports, b: Ports, dir: string): string {
  const flags = (p: Ports, data: string) => `--http-port ${p.http} --mqtt-port ${p.mqtt} --sensor-port ${p.sensors} --modbus-port ${p.modbus} --data-dir ${data}`;
  if (text.includes('npm start -- --tls')) {
    return text
      .replace('npm start -- --tls', `npm start -- --tls ${flags(b, join(dir, 'tls-demo'))}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${b.http}`)
      .replaceAll('-p 1884', `-p ${b.sensors}`)
      .replaceAll('data/demo/', `${join(dir, 'tls-demo')}/`);
  }
  return text.replace(/npm start &/g, `npm start -- ${flags(a, join(dir, 'demo'))} &`).replaceAll('localhost:8080', `127.0.0.1:${a.http}`);
}

// The README is the first thing a new user runs. Its shell blocks run here, in order, in one bash
// session from the repository root, as the user would paste them: a block that no longer works fails.
describe('the README, as a user runs it', () => {
  const tmp = tempDir();
  const fixtures = ['my-rules.yaml', 'readings.csv', 'pump7.csv'].map((f) => join(REPO, f));
  const outputs = [join(REPO, 'gateway.schema.json')];
  let pgid: number | undefined;

  afterAll(() => {
    if (pgid) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const f of [...fixtures, ...outputs]) rmSync(f, { force: true });
    tmp.cleanup();
  });

  it('marks the blocks it does not run, and runs the rest', () => {
    const blocks = shellBlocks(README);
    expect(blocks.filter((b) => b.run).length).toBeGreaterThanOrEqual(7);
    // Each skipped block names something this machine does not have: a device on the plant network, a
    // serial port, an installed system under /etc/vigil, your own PostgreSQL ($VIGIL_DATABASE_URL), or
    // it is `npm ci` / `npm test` themselves.
    for (const b of blocks.filter((x) => !x.run)) expect(b.text).toMatch(/npm ci|npm test|10\.10\.|\/dev\/tty|\/etc\/vigil|\$VIGIL_DATABASE_URL/);
  });

  it('runs every shell block against the demo, each exiting 0', async () => {
    for (const f of fixtures) expect(existsSync(f), `${f} would be overwritten`).toBe(false);
    // What the blocks read: a ruleset of your own and two CSVs, as the README describes them.
    copyFileSync(join(REPO, 'rules/rulesets/default.yaml'), fixtures[0]!);
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    writeFileSync(fixtures[1]!, ['ts,device,metric,value', ...Array.from({ length: 200 }, (_, i) => `${t0 + i * 60_000},pump-7,bearing_temp,${i < 120 ? 60 : 92}`)].join('\n'));
    writeFileSync(fixtures[2]!, ['ts,vib,temp', ...Array.from({ length: 200 }, (_, i) => `${new Date(t0 + i * 60_000).toISOString()},1.2,${i < 120 ? 60 : 92}`)].join('\n'));
    const port = async (): Promise<Ports> => ({ http: await freePort(), mqtt: await freePort(), sensors: await freePort(), modbus: await freePort() });
    const [a, b] = [await port(), await port()];
    const blocks = shellBlocks(README).filter((x) => x.run);
    const script = [
      'set -euo pipefail',
      // A stream (curl -N) runs until stopped; the user presses Ctrl-C, the script stops it after 3 s.
      'curl() { local t=30; [[ "$*" == *"/stream"* ]] && t=3; command curl --max-time "$t" "$@" || { local rc=$?; [[ $rc -eq 28 && $t -eq 3 ]] || return $rc; }; }',
      ...blocks.map((blk, i) => `echo "::block ${i}"\n${localise(blk.text, a, b, tmp.dir)}`),
      'echo "::done"',
    ].join('\n');
    writeFileSync(join(tmp.dir, 'readme.sh'), script);
    const child = spawn('bash', [join(tmp.dir, 'readme.sh')], {
      cwd: REPO,
      detached: true,
      env: { ...process.env, SHARED_SECRET: 'a-secret-shared-with-the-desk-tool', VIGIL_LOG_LEVEL: 'warn', VIGIL_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pgid = child.pid;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const last = [...out.matchAll(/::block (\d+)/g)].at(-1)?.[1];
    expect({ code, failedIn: code === 0 ? null : blocks[Number(last)]?.text, tail: code === 0 ? '' : out.slice(-3000) }).toEqual({ code: 0, failedIn: null, tail: '' });
    expect(out).toContain('::done');
    writeFileSync(join(REPO, 'artifacts', 'readme-run.log'), out);
    // What each block is there to show.
    expect(out).toMatch(/"title": "Bearing wear on fan-2 at plant-a"/); // the demo's tickets through jq
    expect(out).toMatch(/"motor_temp":\{"value":42\.4/); // the TLS demo took the reading published over MQTTS
    expect(existsSync(outputs[0]!)).toBe(true); // the JSON Schema for an editor
    expect(out).toMatch(/"readings": \d+/); // the backtest summary
    expect(out).toMatch(/"version":\d+,"diff"/); // the published ruleset
    expect(out).toMatch(/bearing-temp-limit/); // the replay's findings
    expect(out).toMatch(/"ticket":\{[^\n]*"title":"Bearing wear on fan-2 at plant-a","status":"resolved"/); // the desk resolved it
    expect(out).toMatch(/event: ticket\.resolved/); // and the stream carries it
    expect(out).toMatch(/"url":"https:\/\/desk\.example\.com\/hooks\/vigil"/); // the webhook subscription
    // Two demos each replay a week of history before they are ready (about 30 s each here, more on a
    // busy machine), so this one test may take longer than the e2e default.
  }, 360_000);
});
