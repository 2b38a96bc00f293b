import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { gatewayTopic, openApiDocument } from '../../core/index.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const ADMIN = 'admin-token-for-the-token-scope-test';
type Res = { status: number; text: string };

// Two customers on one server: a desk that serves acme must not learn that globex exists.
describe.each(ENGINES)('token scopes: a scoped token sees its sites only, on every route (%s)', (engine) => {
  const tmp = tempDir();
  let srv: ServerHandle;
  const token: Record<string, string> = {};
  const ids = { a: 0, b: 0 };
  const call = async (method: string, url: string, t: string, body?: unknown): Promise<Res> => {
    const res = await srv.server.http.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${t}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    return { status: res.statusCode, text: res.body };
  };

  beforeAll(async () => {
    srv = await startServer({
      database: engine === 'postgres' ? await freshDatabase() : undefined,
      dataDir: `${tmp.dir}/server`,
      http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}', rateLimit: { perMinute: 100_000 } },
      env: { ADMIN_TOKEN: ADMIN },
      tickets: { policy: { sites: { 'plant-a': { customer: 'acme' }, 'plant-b': { customer: 'globex' } } } },
    });
    const now = Date.now();
    for (const [site, device] of [['plant-a', 'pump-a1'], ['plant-b', 'pump-b1']] as const) {
      const env = { v: 1, site, gatewayId: `gw-${site}`, bootId: 'b', seq: 0, sentAt: now, readings: [{ deviceId: device, metric: 'vibration_rms', value: 2, ts: now - 1000 }] };
      await srv.server.intake.accept(gatewayTopic(site, `gw-${site}`, 'envelope'), Buffer.from(JSON.stringify(env)));
      await srv.server.rules.findings.add(bearingFinding(device, { site }));
      await srv.server.tickets.handleFinding(bearingFinding(device, { site }));
    }
    const list = (await srv.server.tickets.store.list({ limit: 10, offset: 0 })).tickets;
    ids.a = list.find((t) => t.site === 'plant-a')!.id;
    ids.b = list.find((t) => t.site === 'plant-b')!.id;
    const make = async (name: string, role: string, scope?: unknown) => {
      const r = await call('POST', '/api/v1/tokens', ADMIN, { name, role, ...(scope ? { scope } : {}) });
      expect(r.status, r.text).toBe(201);
      return JSON.parse(r.text).token as string;
    };
    token.desk = await make('acme-desk', 'service_desk', { customers: ['acme'] });
    token.viewer = await make('plant-a-viewer', 'viewer', { sites: ['plant-a'] });
    token.nobody = await make('unknown-customer', 'viewer', { customers: ['initech'] });
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('never shows another customer on any route: filtered, 404, or refused to scoped tokens', async () => {
    const doc = openApiDocument(srv.server.http, { title: 't', version: '1' }) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.security || path.endsWith('/stream')) continue; // signature routes; streams are tested below
        // Every id in the path points at the other customer's things.
        const url = path.replace('{id}', path.startsWith('/api/v1/devices') ? 'pump-b1' : String(ids.b)).replace(/\{[^}]+\}/g, '1');
        const withQuery = url === '/api/v1/history' ? `${url}?device=pump-b1&metrics=vibration_rms` : url;
        for (const t of [token.desk!, token.viewer!]) {
          const r = await call(method.toUpperCase(), withQuery, t, method === 'get' ? undefined : {});
          expect([200, 400, 403, 404], `${method} ${withQuery}: ${r.text.slice(0, 200)}`).toContain(r.status);
          if (r.status === 404) {
            // The same answer as for something that does not exist (which may echo the id asked for).
            const ghost = await call(method.toUpperCase(), withQuery.replaceAll('pump-b1', 'pump-zz9').replace(String(ids.b), '999999'), t, method === 'get' ? undefined : {});
            expect(r.text.replaceAll('pump-b1', 'pump-zz9').replace(String(ids.b), '999999'), `${method} ${withQuery}`).toBe(ghost.text);
          } else {
            expect(r.text, `${method} ${withQuery}`).not.toMatch(/pump-b1|plant-b|globex/);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    // Asking for the other customer's site or device by filter finds nothing either, counts included.
    for (const url of ['/api/v1/fleet?site=plant-b', '/api/v1/fleet?q=pump-b', '/api/v1/fleet?q=PLANT-B&health=ok', '/api/v1/devices?site=plant-b', '/api/v1/devices?q=b1']) {
      const r = await call('GET', url, token.desk!);
      expect(r.status, url).toBe(200);
      expect(r.text, url).not.toMatch(/pump-b1|plant-b|globex/);
      expect(JSON.parse(r.text).total, url).toBe(0);
    }
  });

  it('shows its own customer in full', async () => {
    for (const [url, want] of [
      ['/api/v1/tickets', 'pump-a1'],
      [`/api/v1/tickets/${ids.a}`, 'pump-a1'],
      [`/api/v1/tickets/${ids.a}/history`, 'created'],
      ['/api/v1/devices', 'pump-a1'],
      ['/api/v1/gateways', 'gw-plant-a'],
      ['/api/v1/findings', 'pump-a1'],
      ['/api/v1/fleet', 'pump-a1'],
      ['/api/v1/devices/pump-a1/overview', 'pump-a1'],
      ['/api/v1/history?device=pump-a1&metrics=vibration_rms', 'pump-a1'],
      ['/api/v1/me', 'acme'],
    ] as const) {
      const r = await call('GET', url, token.desk!);
      expect(r.status, url).toBe(200);
      expect(r.text, url).toContain(want);
    }
    expect(JSON.parse((await call('GET', '/api/v1/tickets', token.desk!)).text).total).toBe(1);
    expect(JSON.parse((await call('GET', '/api/v1/tickets', token.nobody!)).text).total).toBe(0);
  });

  it("acts on its own tickets and gets 404 for the other customer's", async () => {
    expect((await call('POST', `/api/v1/tickets/${ids.b}/acknowledge`, token.desk!, {})).status).toBe(404);
    expect((await srv.server.tickets.store.get(ids.b))!.status).toBe('open');
    expect((await call('POST', `/api/v1/tickets/${ids.a}/acknowledge`, token.desk!, {})).status).toBe(200);
  });

  it('streams only its own tickets', async () => {
    const port = srv.server.httpAddress().port;
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/tickets/stream?after=0&access_token=${token.desk}`, { signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    await srv.server.tickets.handleFinding(bearingFinding('pump-b2', { site: 'plant-b' }));
    await srv.server.tickets.handleFinding(bearingFinding('pump-a2', { site: 'plant-a' }));
    while (!text.includes('pump-a2')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(text).toContain('pump-a1');
    expect(text).not.toMatch(/pump-b/);
  });

  it('refuses a scoped admin token, and a scope that names nothing', async () => {
    expect((await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'admin', scope: { sites: ['plant-a'] } })).status).toBe(400);
    expect((await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'viewer', scope: {} })).status).toBe(400);
  });
});
