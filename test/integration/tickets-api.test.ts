import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { dedupeKeyOf, openApiDocument } from '../../core/index.ts';
import { sign } from '../../tickets/index.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const ADMIN = 'admin-token-for-the-tickets-api-test';
type Res = { status: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const finding = bearingFinding;

describe.each(ENGINES)('tickets API: roles, validation, live stream, inbound webhook (%s)', (engine) => {
  const tmp = tempDir();
  let srv: ServerHandle;
  const tokens: Record<string, string> = {};
  const call = async (method: string, url: string, o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Res> => {
    const token = o.token === undefined ? ADMIN : o.token;
    const res = await srv.server.http.inject({
      method: method as 'GET',
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      ...(o.raw !== undefined ? { payload: o.raw } : o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
    });
    return { status: res.statusCode, body: res.headers['content-type']?.toString().includes('json') ? res.json() : res.body };
  };
  const snapshot = async () => ({ tickets: await srv.server.tickets.store.list({ limit: 500, offset: 0 }), events: await srv.server.tickets.store.lastEventId(), tokens: (await srv.server.tokens.list()).map(({ lastUsedAt: _, ...t }) => t), subs: await srv.server.tickets.outbox.subscriptions() });

  beforeAll(async () => {
    srv = await startServer({
      database: engine === 'postgres' ? await freshDatabase() : undefined, dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    for (const role of ['viewer', 'operator', 'service_desk']) tokens[role] = (await call('POST', '/api/v1/tokens', { body: { name: `${role}-1`, role } })).body.token;
    await srv.server.tickets.handleFinding(finding('fan-2'));
    await srv.server.tickets.handleFinding(finding('pump-3', { fault: 'overheating', dedupeKey: dedupeKeyOf('pump-3', 'overheating'), metric: 'bearing_temp', severity: 'critical' }));
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('lists with filters and pagination, and gets one ticket with its history', async () => {
    const all = await call('GET', '/api/v1/tickets', { token: tokens.viewer });
    expect(all).toMatchObject({ status: 200, body: { total: 2 } });
    expect(all.body.tickets.map((t: { priority: string }) => t.priority)).toEqual(['P1', 'P3']);
    expect((await call('GET', '/api/v1/tickets?priority=P1,P2')).body.tickets.map((t: { deviceId: string }) => t.deviceId)).toEqual(['pump-3']);
    expect((await call('GET', '/api/v1/tickets?status=open&site=plant-a&device=fan-2')).body.total).toBe(1);
    expect((await call('GET', '/api/v1/tickets?slaBreached=true')).body.total).toBe(0);
    const page = await call('GET', '/api/v1/tickets?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1, tickets: [{ deviceId: 'fan-2' }] });
    const id = page.body.tickets[0].id;
    expect((await call('GET', `/api/v1/tickets/${id}`)).body).toMatchObject({ id, fault: 'bearing_wear' });
    expect((await call('GET', `/api/v1/tickets/${id}/history`)).body.events[0]).toMatchObject({ type: 'ticket.created', actor: { name: 'rule-engine' } });
    expect((await call('GET', '/api/v1/tickets/9999')).status).toBe(404);
  });

  it('refuses malformed bodies, unknown fields and bad parameters with a 400 naming the problem, changing nothing', async () => {
    const before = await snapshot();
    const id = before.tickets.tickets[0]!.id;
    const cases: [string, string, { body?: unknown; raw?: string }, RegExp][] = [
      ['POST', `/api/v1/tickets/${id}/acknowledge`, { raw: '{"note": ' }, /JSON/i],
      ['POST', `/api/v1/tickets/${id}/acknowledge`, { body: { note: 'x', priority: 'P1' } }, /priority/],
      ['POST', `/api/v1/tickets/${id}/resolve`, { body: { note: 'x' } }, /outcome/],
      ['POST', `/api/v1/tickets/${id}/resolve`, { body: { outcome: 'fixed', note: 'x' } }, /outcome/],
      ['POST', `/api/v1/tickets/${id}/resolve`, { body: { outcome: 'confirmed', note: '   ' } }, /note/],
      ['POST', `/api/v1/tickets/${id}/assign`, { body: {} }, /assignee/],
      ['POST', `/api/v1/tickets/${id}/comment`, { body: { note: 'x'.repeat(5000) } }, /note/],
      ['POST', '/api/v1/tickets/abc/acknowledge', { body: {} }, /id/],
      ['GET', '/api/v1/tickets?status=bogus', {}, /status/],
      ['GET', '/api/v1/tickets?limit=0', {}, /limit/],
      ['GET', '/api/v1/tickets?colour=red', {}, /colour/],
      ['GET', '/api/v1/rules/stats?x=1', {}, /no parameters/],
      ['POST', '/api/v1/webhooks', { body: { url: 'ftp://desk.example/hook' } }, /url/],
      ['POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:1/hook', events: ['ticket.exploded'] } }, /events/],
      ['POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:1/hook', secret: 'short' } }, /secret/],
      ['POST', '/api/v1/tokens', { body: { name: 'x', role: 'root' } }, /role/],
      ['POST', '/api/v1/rulesets', { body: { yaml: 'version: 1' } }, /comment/],
      ['POST', '/api/v1/webhooks/deliveries/1/replay', { body: { now: true } }, /now/],
      ['POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:1/hook', format: 'xml' } }, /format/],
      ['GET', '/api/v1/destinations/deliveries?status=lost', {}, /status/],
      ['GET', `/api/v1/destinations/deliveries?destination=${'x'.repeat(64)}`, {}, /destination/],
      ['POST', '/api/v1/destinations/deliveries/1/replay', { body: { now: true } }, /now/],
      ['POST', '/api/v1/destinations/deliveries/-1/replay', { body: {} }, /id/],
    ];
    for (const [method, url, o, problem] of cases) {
      const r = await call(method, url, o);
      expect(r.status, `${method} ${url} ${JSON.stringify(o)}`).toBe(400);
      expect(r.body.message, `${method} ${url}`).toMatch(problem);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses every write to a role that may not, and every call without a valid token, changing nothing', async () => {
    const before = await snapshot();
    const doc = openApiDocument(srv.server.http, { title: 't', version: '1' }) as { paths: Record<string, Record<string, { description: string }>> };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const url = path.replace('{id}', '1').replace('{version}', '1');
        if (op.description.includes('signature')) continue;
        expect((await call(method.toUpperCase(), url, { token: null })).status, `${method} ${url} without a token`).toBe(401);
        expect((await call(method.toUpperCase(), url, { token: 'vgl_forged' })).status).toBe(401);
        if (method === 'get' && !op.description.startsWith('Roles: admin.')) continue;
        expect((await call(method.toUpperCase(), url, { token: tokens.viewer, body: {} })).status, `${method} ${url} as viewer`).toBe(403);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
    const id = before.tickets.tickets[0]!.id;
    // Roles between viewer and admin: the desk works tickets, operators tune rules and may comment.
    expect((await call('POST', `/api/v1/tickets/${id}/acknowledge`, { token: tokens.operator, body: {} })).status).toBe(403);
    expect((await call('POST', '/api/v1/rulesets/validate', { token: tokens.service_desk, body: { yaml: 'x' } })).status).toBe(403);
    expect((await call('POST', '/api/v1/webhooks', { token: tokens.service_desk, body: { url: 'http://127.0.0.1:1/' } })).status).toBe(403);
    expect((await call('GET', '/api/v1/audit', { token: tokens.operator })).status).toBe(403);
    // Where the desk's mail and chat go, and their dead letters, are the admin's.
    expect((await call('GET', '/api/v1/destinations', { token: tokens.service_desk })).status).toBe(403);
    expect((await call('POST', '/api/v1/destinations/deliveries/1/replay', { token: tokens.service_desk, body: {} })).status).toBe(403);
    expect(await snapshot()).toEqual(before);
    // Refusals of authenticated callers are in the audit log.
    const audit = await call('GET', '/api/v1/audit?actor=viewer-1&limit=1000');
    expect(audit.body.entries.length).toBeGreaterThan(10);
    expect(audit.body.entries.every((e: { detail: { status: number } }) => e.detail.status === 403)).toBe(true);
  });

  it('lets each role do its part, recording the token name as the actor', async () => {
    const id = (await call('GET', '/api/v1/tickets?device=fan-2')).body.tickets[0].id;
    expect((await call('POST', `/api/v1/tickets/${id}/comment`, { token: tokens.operator, body: { note: 'vibration confirmed on route' } })).status).toBe(200);
    const ack = await call('POST', `/api/v1/tickets/${id}/acknowledge`, { token: tokens.service_desk });
    expect(ack).toMatchObject({ status: 200, body: { ticket: { status: 'acknowledged' }, event: { actor: { name: 'service_desk-1', role: 'service_desk' } } } });
    expect((await call('POST', `/api/v1/tickets/${id}/acknowledge`, { token: tokens.service_desk })).status).toBe(409);
  });

  it('publishes an OpenAPI document and a readable index at /docs', async () => {
    const doc = await call('GET', '/docs/openapi.json', { token: null });
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/tickets', '/api/v1/tickets/{id}/resolve', '/api/v1/rules/stats', '/api/v1/webhooks/{id}/inbound']));
    expect(doc.body.paths['/api/v1/tickets/{id}/resolve'].post.requestBody.content['application/json'].schema.required).toEqual(['outcome', 'note']);
    const html = await call('GET', '/docs', { token: null });
    expect(html.body).toContain('/api/v1/tickets/{id}/resolve');
  });

  it('streams ticket events live over SSE, resuming after Last-Event-ID', async () => {
    const ac = new AbortController();
    const res = await fetch(`${srv.httpUrl}/api/v1/tickets/stream?access_token=${tokens.viewer}`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await srv.server.tickets.handleFinding(finding('motor-5'));
    let text = '';
    while (!text.includes('motor-5')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(text).toMatch(/event: ticket\.created\ndata: .*"deviceId":"motor-5"/);
    const last = Number(/id: (\d+)/.exec(text)![1]);
    const again = await fetch(`${srv.httpUrl}/api/v1/tickets/stream`, { headers: { authorization: `Bearer ${tokens.viewer}`, 'last-event-id': String(last - 1) } });
    const r2 = again.body!.getReader();
    let replayed = '';
    while (!replayed.includes(`id: ${last}\n`)) replayed += new TextDecoder().decode((await r2.read()).value);
    await r2.cancel();
    expect((await fetch(`${srv.httpUrl}/api/v1/tickets/stream`)).status).toBe(401);
  });

  it('takes signed status updates from the service desk through the inbound webhook', async () => {
    const sub = await call('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/none', events: ['ticket.created'], secret: 'desk-shared-secret-0123456789' } });
    expect(sub.status).toBe(201);
    // The secret is sealed at rest: the store does not hold it.
    expect(JSON.stringify(await srv.server.tickets.store.sql.all('SELECT * FROM webhook_subscription'))).not.toContain('desk-shared-secret');
    const id = (await call('GET', '/api/v1/tickets?device=pump-3')).body.tickets[0].id;
    const url = `/api/v1/webhooks/${sub.body.id}/inbound`;
    const send = (body: unknown, secret = 'desk-shared-secret-0123456789', at = Date.now()) => {
      const raw = JSON.stringify(body);
      return call('POST', url, { token: null, raw, headers: { 'vigil-signature': sign(secret, raw, at) } });
    };
    const before = await snapshot();
    expect((await call('POST', url, { token: null, body: { ticketId: id, action: 'acknowledge', actor: 'x' } })).status).toBe(401);
    expect((await send({ ticketId: id, action: 'acknowledge', actor: 'x' }, 'wrong-secret-0123456789')).status).toBe(401);
    expect((await send({ ticketId: id, action: 'acknowledge', actor: 'x' }, undefined, Date.now() - 3_600_000)).body.message).toMatch(/5 minutes/);
    expect((await send({ ticketId: id, action: 'escalate', actor: 'x' })).status).toBe(400);
    expect((await send({ ticketId: id, action: 'acknowledge', actor: 'x', colour: 'red' })).status).toBe(400);
    expect((await send({ ticketId: id, action: 'resolve', actor: 'x', note: 'done' })).body.message).toMatch(/outcome/);
    expect(await snapshot()).toEqual(before);
    const ok = await send({ ticketId: id, action: 'acknowledge', actor: 'jane@desk', externalRef: 'INC-4711', note: 'taken in the desk' });
    expect(ok).toMatchObject({ status: 200, body: { ticket: { status: 'acknowledged', externalRef: 'INC-4711' }, event: { actor: { name: 'jane@desk', role: `webhook:${sub.body.id}` } } } });
    expect((await send({ ticketId: id, action: 'close', actor: 'jane@desk' })).status).toBe(409);
    // A resent comment (same idempotency key), or a replay of the very same signed request, lands once.
    const comment = JSON.stringify({ ticketId: id, action: 'comment', actor: 'jane@desk', note: 'parts ordered' });
    const headers = { 'vigil-signature': sign('desk-shared-secret-0123456789', comment, Date.now()), 'idempotency-key': 'desk-evt-1' };
    const history = async () => (await srv.server.tickets.store.history(id)).filter((e) => e.type === 'ticket.commented').length;
    expect((await call('POST', url, { token: null, raw: comment, headers })).status).toBe(200);
    expect(await call('POST', url, { token: null, raw: comment, headers })).toMatchObject({ status: 200, body: { duplicate: true } });
    const { 'idempotency-key': _, ...signatureOnly } = headers;
    expect((await call('POST', url, { token: null, raw: comment, headers: signatureOnly })).status).toBe(200);
    expect(await call('POST', url, { token: null, raw: comment, headers: signatureOnly })).toMatchObject({ body: { duplicate: true } });
    expect(await history()).toBe(2);

    // The return visit's answer, as the desk's tool records it after its own call or SMS.
    // Resolved with how it was put right; inbound, where `action` names the ticket action, the action taken is `actionTaken`.
    expect((await send({ ticketId: id, action: 'resolve', actor: 'jane@desk', outcome: 'confirmed', note: 'x', faultCode: 'Q9' })).body.message).toMatch(/faultCode: "Q9" is not in the fault-code catalog/);
    expect((await send({ ticketId: id, action: 'resolve', actor: 'jane@desk', outcome: 'confirmed', note: 'x', partsUsed: [{ name: 'fan', quantity: 0 }] })).status).toBe(400);
    const resolved = await send({ ticketId: id, action: 'resolve', actor: 'jane@desk', outcome: 'confirmed', note: 'sensor replaced', faultCode: 'ohe', actionTaken: 'replaced the cooling fan', partsUsed: [{ name: 'cooling fan', quantity: 1 }], minutesOnSite: 40 });
    expect(resolved).toMatchObject({ status: 200, body: { ticket: { resolution: { faultCode: 'OHE', action: 'replaced the cooling fan', partsUsed: [{ name: 'cooling fan', quantity: 1 }], minutesOnSite: 40 } } } });
    expect((await send({ ticketId: id, action: 'survey', actor: 'jane@desk', score: 7 })).status).toBe(400);
    const answered = await send({ ticketId: id, action: 'survey', actor: 'jane@desk', score: 4, nps: 8, comment: 'all good' });
    expect(answered).toMatchObject({ status: 200, body: { ticket: { status: 'closed', closeReason: 'answered', survey: { score: 4, nps: 8, via: 'webhook' } } } });
  });
});
