import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VigilProcess } from '../helpers/child.ts';
import { freePort } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

const TOKEN = 'demo-admin-token-for-the-stop-test';

async function demo(dir: string): Promise<{ p: VigilProcess; api: string }> {
  const [http, mqtt, sensors, modbus] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const p = new VigilProcess(['demo', '--http-port', String(http), '--mqtt-port', String(mqtt), '--sensor-port', String(sensors), '--modbus-port', String(modbus), '--data-dir', dir], { VIGIL_TOKEN: TOKEN }).start();
  await p.waitForOutput(/Vigil demo is running/, 30_000);
  return { p, api: `http://127.0.0.1:${http}` };
}

/** Opens a live stream as the console does and keeps it open. */
async function openStream(url: string): Promise<{ ended: Promise<void> }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // the server went away: that is an end too
    }
  })();
  return { ended };
}

// Ctrl-C once must be enough while a console is connected (its streams used to hold the stop until
// a timeout and then keep the process up).
describe('stopping with clients connected', () => {
  const tmp = tempDir();
  let running: VigilProcess | undefined;
  afterEach(async () => {
    await running?.kill('SIGKILL');
  });

  it('ends live streams and exits on one SIGINT, with code 0', async () => {
    const { p, api } = await demo(join(tmp.dir, 'a'));
    running = p;
    const tickets = await openStream(`${api}/api/v1/tickets/stream?access_token=${TOKEN}`);
    const readings = await openStream(`${api}/api/v1/readings/stream?access_token=${TOKEN}`);
    const started = Date.now();
    const code = await p.kill('SIGINT');
    expect(code).toBe(0);
    // Bounded: the services' own stop timeout is 10 s; ending the streams first makes it immediate.
    expect(Date.now() - started).toBeLessThan(9_000);
    await tickets.ended;
    await readings.ended;
    expect(p.output).toMatch(/a second Ctrl-C exits at once/);
    expect(p.output).not.toMatch(/stop timed out/);
  });

  it('says that SIGHUP stops rather than reloads, and stops cleanly', async () => {
    const { p } = await demo(join(tmp.dir, 'b'));
    running = p;
    expect(await p.kill('SIGHUP')).toBe(0);
    expect(p.output).toMatch(/SIGHUP: stopping \(reloading the configuration is not supported/);
  });
});
