import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const DAY = 86_400_000;

/** The customer's side of the return visit, in a real browser with JavaScript switched off. */
describe('survey page in headless Chromium, without JavaScript', () => {
  const tmp = tempDir();
  let srv: ServerHandle;
  let browser: Browser;

  const resolvedTicket = async (deviceId: string) => {
    const now = Date.now();
    srv.server.devices.update('plant-a', 'gw-1', [{ deviceId, metric: 'bearing_temp', value: 50, ts: now }], now);
    const r = await srv.server.tickets.report({ channel: 'phone', contact: { name: 'Kim' }, deviceId, fault: 'imbalance', symptom: 'shaking', urgency: 'normal' }, { name: 'desk', role: 'service_desk' });
    if (!r.ok) throw new Error(r.message);
    const done = await srv.server.tickets.act(r.ticket.id, { action: 'resolve', outcome: 'confirmed', note: 'balanced' }, { name: 'desk', role: 'service_desk' });
    if (!done.ok) throw new Error(done.message);
    return done.ticket;
  };
  const open = async () => (await browser.newContext({ javaScriptEnabled: false })).newPage();

  beforeAll(async () => {
    srv = await startServer({ dataDir: `${tmp.dir}/server` });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('opens the signed link, takes the answer, and says thank you; the ticket closes with the score', async () => {
    const t = await resolvedTicket('pump-1');
    const link = srv.server.tickets.link(t, 'survey', Date.now())!;
    const page = await open();
    const res = await page.goto(`${srv.httpUrl}${link.url}`);
    expect(res!.status()).toBe(200);
    await expect(page.title()).resolves.toBe('How did we do?');
    expect(await page.textContent('body')).toContain(`ticket ${t.id}`);
    // The form's own validation (required radio) is the browser's; submitting without a score is refused there.
    await page.check('input[name=score][value="4"]');
    await page.selectOption('select[name=nps]', '8');
    await page.fill('textarea[name=comment]', 'on time, <b>tidy</b>');
    await screenshot(page, 'survey-form');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Thank you');
    await screenshot(page, 'survey-thanks');
    expect(await srv.server.tickets.store.get(t.id)).toMatchObject({ status: 'closed', closeReason: 'answered', survey: { score: 4, nps: 8, comment: 'on time, <b>tidy</b>', via: 'page' } });
  });

  it('refuses a second answer, an expired link and a link with one changed character, and changes nothing', async () => {
    const answered = await resolvedTicket('pump-2');
    const first = srv.server.tickets.link(answered, 'survey', Date.now())!;
    const page = await open();
    await page.goto(`${srv.httpUrl}${first.url}`);
    await page.check('input[name=score][value="5"]');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Thank you');

    // The same form, submitted again from the browser's history.
    await page.goBack();
    const again = await page.goto(`${srv.httpUrl}${first.url}`);
    expect(again!.status()).toBe(409);
    expect(await page.textContent('body')).toContain('already been answered');

    const other = await resolvedTicket('pump-3');
    const expired = srv.server.tickets.link(other, 'survey', Date.now() - 30 * DAY)!;
    const live = srv.server.tickets.link(other, 'survey', Date.now())!;
    const i = live.url.length - 10;
    const tampered = live.url.slice(0, i) + (live.url[i] === 'A' ? 'B' : 'A') + live.url.slice(i + 1);
    const before = await srv.server.tickets.store.get(other.id);
    for (const [url, status, text] of [[expired.url, 410, 'expired'], [tampered, 403, 'not valid']] as const) {
      const r = await page.goto(`${srv.httpUrl}${url}`);
      expect(r!.status()).toBe(status);
      expect(await page.textContent('h1')).toContain(text === 'expired' ? 'expired' : 'not valid');
      expect(await page.$('form')).toBeNull();
    }
    await screenshot(page, 'survey-refused');
    expect(await srv.server.tickets.store.get(other.id)).toEqual(before);
    expect((await srv.server.tickets.store.get(answered.id))!.survey!.score).toBe(5);
  });
});
