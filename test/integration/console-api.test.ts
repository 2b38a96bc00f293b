import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { SITE, type ServerHandle, asGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';

const MIN = 60_000;

describe.each(ENGINES)('console API: fleet health, device overview, history (%s)', (engine) => {
  let database: string | undefined;
  const tmp = tempDir();
  let srv: ServerHandle;
  const get = async (path: string) => {
    const res = await fetch(`${srv.httpUrl}${path}`);
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    srv = await startServer({ database: (database ??= engine === 'postgres' ? await freshDatabase() : undefined), dataDir: `${tmp.dir}/server` });
    const gw = await asGateway(srv.brokerUrl);
    const t0 = Date.now() - 180 * MIN;
    const readings: Reading[] = [];
    for (let i = 0; i < 180; i++) {
      readings.push({ deviceId: 'pump-1', metric: 'bearing_temp', value: i < 150 ? 50 + (i % 3) * 0.2 : 90, ts: t0 + i * MIN });
      readings.push({ deviceId: 'fan-1', metric: 'vibration_rms', value: 1.5 + (i % 5) * 0.01, ts: t0 + i * MIN });
    }
    await gw.send(readings);
    gw.client.end(true);
    await waitFor(async () => (await get('/api/v1/fleet')).body.sites?.[0]?.devices.length === 2, { message: 'two devices' });
    // Findings reach tickets after they are stored: wait for the ticket the jump opens.
    await waitFor(async () => (await get('/api/v1/tickets?device=pump-1')).body.tickets?.length === 1, { message: 'the ticket of pump-1' });
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('gives each device a health with its reasons and its open tickets', async () => {
    const { body } = await get('/api/v1/fleet');
    expect(body.sites).toHaveLength(1);
    expect(body.sites[0].site).toBe(SITE);
    const pump = body.sites[0].devices.find((d: { deviceId: string }) => d.deviceId === 'pump-1');
    const fan = body.sites[0].devices.find((d: { deviceId: string }) => d.deviceId === 'fan-1');
    // A jump of 40 °C within minutes is a critical rate of rise; the worst alerts are the reasons given.
    expect(pump).toMatchObject({ health: 'critical', reasons: ['bearing-temp-rate (overheating)'], gatewayId: 'gw-1' });
    expect(pump.openTickets).toEqual([expect.objectContaining({ priority: 'P1' })]);
    expect(fan).toMatchObject({ health: 'ok', reasons: [], openTickets: [] });
  });

  it('pages and filters the fleet in the server, and counts the whole fleet by health whatever the filters', async () => {
    const whole = { devices: 2, ok: 1, warning: 0, critical: 1, offline: 0 };
    const first = (await get('/api/v1/fleet?limit=1')).body;
    expect(first).toMatchObject({ total: 2, limit: 1, offset: 0, summary: { ...whole, sites: [{ site: SITE, ...whole }] } });
    expect(first.sites[0].devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['fan-1']);
    const second = (await get('/api/v1/fleet?limit=1&offset=1')).body;
    expect(second.sites[0].devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['pump-1']);
    // The page's open tickets come with it (looked up for the page's devices only).
    expect(second.sites[0].devices[0].openTickets).toEqual([expect.objectContaining({ priority: 'P1' })]);
    const critical = (await get('/api/v1/fleet?health=critical')).body;
    expect(critical).toMatchObject({ total: 1, summary: whole });
    expect(critical.sites[0].devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['pump-1']);
    expect((await get('/api/v1/fleet?q=FAN')).body.sites[0].devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['fan-1']);
    expect((await get('/api/v1/fleet?site=elsewhere')).body).toMatchObject({ total: 0, sites: [], summary: whole });
    expect((await get('/api/v1/fleet?offset=5')).body).toMatchObject({ total: 2, sites: [] });
    // Prometheus counts the same fired alerts as the alerts route lists.
    const fired = ((await get('/api/v1/alerts')).body.alerts as { phase: string; severity: string }[]).filter((a) => a.phase !== 'pending');
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    for (const severity of ['warning', 'critical']) {
      const n = fired.filter((a) => a.severity === severity).length;
      expect(metrics, severity).toContain(`vigil_alerts_active{severity="${severity}"} ${n}`);
    }
    expect(fired.some((a) => a.severity === 'critical')).toBe(true);
    const devices = (await get('/api/v1/devices?limit=1&offset=1')).body;
    expect(devices).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(devices.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['pump-1']);
    expect((await get('/api/v1/devices?q=pump')).body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['pump-1']);
    for (const path of ['/api/v1/fleet?limit=0', '/api/v1/fleet?limit=99999', '/api/v1/fleet?offset=-1', '/api/v1/fleet?health=purple', '/api/v1/fleet?colour=red', '/api/v1/devices?limit=abc', '/api/v1/devices?q=' + 'x'.repeat(201)]) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body.message, path).toBeTruthy();
    }
  });

  it('shows one device with its rules and limits, learned baselines, alerts and tickets', async () => {
    const { body } = await get('/api/v1/devices/pump-1/overview');
    expect(body).toMatchObject({ health: 'critical', reasons: ['bearing-temp-rate (overheating)'] });
    expect(body.rules).toContainEqual(expect.objectContaining({ ruleId: 'bearing-temp-limit', metric: 'bearing_temp', limits: expect.objectContaining({ warning: 80, critical: 95 }) }));
    expect(body.baselines).toContainEqual(expect.objectContaining({ ruleId: 'bearing-temp-baseline', metric: 'bearing_temp', baseline: expect.any(Number) }));
    expect(body.alerts.map((a: { ruleId: string }) => a.ruleId)).toContain('bearing-temp-limit');
    expect(body.tickets).toEqual([expect.objectContaining({ status: 'open', priority: 'P1' })]);
    expect((await get('/api/v1/devices/nope-9/overview')).status).toBe(404);
  });

  it('serves per-minute history as series, and refuses a bad query with the reason', async () => {
    const { body } = await get(`/api/v1/history?device=pump-1&metrics=bearing_temp,vibration_rms&from=${Date.now() - 4 * 60 * MIN}`);
    expect(body.series.bearing_temp.t).toHaveLength(180);
    expect(body.series.bearing_temp.max.at(-1)).toBe(90);
    expect(body.series.vibration_rms.t).toHaveLength(0);
    for (const [q, problem] of [
      ['device=pump-1&metrics=colour', /metrics/],
      ['metrics=bearing_temp', /device/],
      ['device=pump-1&metrics=bearing_temp&from=10&to=5', /from must be before to/],
      ['device=pump-1&metrics=bearing_temp&from=0&to=99999999999', /92 days/],
    ] as const) {
      const r = await get(`/api/v1/history?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.message).toMatch(problem);
    }
  });

  it('streams live readings, latest per metric each second, for one device or all', async () => {
    const ac = new AbortController();
    const res = await fetch(`${srv.httpUrl}/api/v1/readings/stream?device=fan-1`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const gw = await asGateway(srv.brokerUrl);
    await gw.send([
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 61, ts: Date.now() - 2000 },
      { deviceId: 'fan-1', metric: 'vibration_rms', value: 1.7, ts: Date.now() - 2000 },
      { deviceId: 'fan-1', metric: 'vibration_rms', value: 1.8, ts: Date.now() - 1000 },
    ]);
    let text = '';
    while (!text.includes('event: readings')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    gw.client.end(true);
    const data = JSON.parse(/data: (.*)/.exec(text.slice(text.indexOf('event: readings')))![1]!) as { deviceId: string; value: number }[];
    expect(data).toEqual([expect.objectContaining({ deviceId: 'fan-1', metric: 'vibration_rms', value: 1.8, site: SITE })]);
    expect((await get('/api/v1/readings/stream?device=Bad Id')).status).toBe(400);
  });

  it('serves the console page and its assets without a CDN', async () => {
    const html = await fetch(`${srv.httpUrl}/console/`);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await html.text()).toContain('<script type="module" src="./app.js">');
    expect((await fetch(`${srv.httpUrl}/console/app.js`)).status).toBe(200);
    expect((await fetch(`${srv.httpUrl}/console/../server.db`)).status).toBe(404);
    expect((await fetch(`${srv.httpUrl}/`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });
});
