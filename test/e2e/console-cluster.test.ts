import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../core/index.ts';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { TwoServers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/net.ts';
import type { ServerHandle } from '../helpers/pipeline.ts';

const SITES = Array.from({ length: 8 }, (_, i) => `plant-${i}`);
const ADMIN = 'admin-token-for-the-console-cluster-test';

// The console against either server of a cluster, in Chromium: two servers share the shards of one
// PostgreSQL store and one Mosquitto; whichever the operator opens shows the whole fleet, and a device
// held by the other server charts its history and its live readings as they arrive.
describe('operator console on either server of a cluster', () => {
  const cluster = new TwoServers({ http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } }, ADMIN);
  let browser: Browser;

  const poll = (site: string, ts: number, temp = 50) =>
    cluster.send(site, [
      { deviceId: `${site}-pump`, metric: 'bearing_temp', value: temp, ts },
      { deviceId: `${site}-pump`, metric: 'vibration_rms', value: 2.1, ts },
    ]);

  const signIn = async (s: ServerHandle): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(`${s.httpUrl}/`);
    await page.fill('#token', ADMIN);
    await page.press('#token', 'Enter');
    await page.waitForSelector('#who >> text=Sign out');
    return page;
  };

  beforeAll(async () => {
    await cluster.start();
    // Twenty minutes of history for every site, so each device has a chart to draw.
    const t0 = Date.now() - 20 * 60_000;
    for (let i = 0; i < 20; i++) for (const site of SITES) await poll(site, t0 + i * 60_000);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await cluster.destroy();
  });

  it('shows the whole fleet from either server, and charts a device the other server holds, live', async () => {
    const { a, b } = cluster;
    const aShards = await cluster.shardsOf('a');
    // The sites of both servers are among the fleet's, or the test would prove nothing about the other.
    expect(new Set(SITES.map((s) => aShards.includes(shardOf(s))))).toEqual(new Set([true, false]));

    for (const [s, name] of [[a, 'a'], [b, 'b']] as const) {
      const page = await signIn(s);
      for (const site of SITES) await page.locator(`tr[data-device="${site}-pump"]`).waitFor({ timeout: 20_000 });
      if (name === 'b') await screenshot(page, 'cluster-fleet-from-b');
      await page.close();
    }

    // On b's console, a device of a's shards: its history (the shared store) and its live readings (b
    // follows a's stream for it).
    const site = SITES.find((x) => aShards.includes(shardOf(x)))!;
    const page = await signIn(b);
    await page.click(`a[href="#/device/${site}-pump"]`);
    const temp = page.locator('figure[data-metric="bearing_temp"]');
    await temp.waitFor();
    await waitFor(async () => Number(await temp.getAttribute('data-points')) > 0, { timeoutMs: 20_000, message: 'history charted' });
    // A reading counts as live when the stream appended it (`data-live-at`), not when the page's 5-second
    // refresh found it in the stored history.
    const sent = new Set<string>();
    await waitFor(
      async () => {
        const ts = Date.now();
        sent.add(String(ts));
        await poll(site, ts, 51);
        return sent.has((await temp.getAttribute('data-live-at')) ?? '');
      },
      { timeoutMs: 30_000, intervalMs: 1000, message: "a's live readings appended to the chart on b's console" },
    );
    await screenshot(page, 'cluster-device-from-b');
    await page.close();
  });
});
