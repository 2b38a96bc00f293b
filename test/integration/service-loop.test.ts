import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { WebhookReceiver } from '../helpers/receiver.ts';
import { tempDir } from '../helpers/tmp.ts';

const ADMIN = 'admin-token-for-the-service-loop-test';
type Res = { status: number; body: any; headers: Record<string, unknown> }; // eslint-disable-line @typescript-eslint/no-explicit-any
const DAY = 86_400_000;

describe.each(ENGINES)('service loop over the API: customer reports, visits, acceptance, return visit, KPIs (%s)', (engine) => {
  const tmp = tempDir();
  let srv: ServerHandle;
  const tokens: Record<string, string> = {};
  const call = async (method: string, url: string, o: { token?: string | null; body?: unknown; raw?: string } = {}): Promise<Res> => {
    const token = o.token === undefined ? tokens.service_desk : o.token;
    const res = await srv.server.http.inject({
      method: method as 'GET',
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(o.raw !== undefined ? { payload: o.raw } : o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
    });
    return { status: res.statusCode, headers: res.headers, body: res.headers['content-type']?.toString().includes('json') ? res.json() : res.body };
  };
  const snapshot = async () => ({ tickets: await srv.server.tickets.store.list({ limit: 500, offset: 0 }), events: await srv.server.tickets.store.lastEventId() });
  const report = { channel: 'phone', contact: { name: 'Kim Lee', phone: '+49 30 555 0101', email: 'kim@example.com' }, deviceId: 'pump-1', symptom: 'grinding noise since this morning', urgency: 'high' };
  const page = (path: string, form?: Record<string, string>) =>
    fetch(`${srv.httpUrl}${path}`, form ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() } : {});

  beforeAll(async () => {
    srv = await startServer({
      database: engine === 'postgres' ? await freshDatabase() : undefined, dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    for (const role of ['viewer', 'operator', 'service_desk']) tokens[role] = (await call('POST', '/api/v1/tokens', { token: ADMIN, body: { name: `${role}-1`, role } })).body.token;
    tokens.scoped = (await call('POST', '/api/v1/tokens', { token: ADMIN, body: { name: 'plant-b-desk', role: 'service_desk', scope: { sites: ['plant-b'] } } })).body.token;
    // The devices the server knows: they have sent readings.
    const now = Date.now();
    srv.server.devices.update('plant-a', 'gw-1', [{ deviceId: 'pump-1', metric: 'bearing_temp', value: 50, ts: now }, { deviceId: 'fan-2', metric: 'bearing_temp', value: 40, ts: now }], now);
    srv.server.devices.update('plant-b', 'gw-2', [{ deviceId: 'pump-9', metric: 'bearing_temp', value: 50, ts: now }], now);
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('refuses malformed reports, unknown fields, unknown devices, wrong roles and scopes with a clear 4xx, changing nothing', async () => {
    const before = await snapshot();
    const cases: [string, { body?: unknown; raw?: string; token?: string }, number, RegExp][] = [
      ['not JSON', { raw: '{"channel": ' }, 400, /JSON/i],
      ['unknown field', { body: { ...report, priority: 'P1' } }, 400, /priority/],
      ['bad channel', { body: { ...report, channel: 'pigeon' } }, 400, /channel/],
      ['no contact name', { body: { ...report, contact: { phone: '123' } } }, 400, /contact\.name/],
      ['bad email', { body: { ...report, contact: { name: 'K', email: 'not-mail' } } }, 400, /contact\.email/],
      ['bad phone', { body: { ...report, contact: { name: 'K', phone: '<script>' } } }, 400, /contact\.phone/],
      ['empty symptom', { body: { ...report, symptom: '  ' } }, 400, /symptom/],
      ['bad urgency', { body: { ...report, urgency: 'yesterday' } }, 400, /urgency/],
      ['unknown device', { body: { ...report, deviceId: 'pump-404' } }, 400, /pump-404 is not a device this server knows/],
      ['device at another site', { body: { ...report, site: 'plant-b' } }, 400, /pump-1 is at site plant-a, not plant-b/],
      ['device id with a path in it', { body: { ...report, deviceId: '../pump-1' } }, 400, /deviceId/],
      ['oversized symptom', { body: { ...report, symptom: 'x'.repeat(5000) } }, 400, /symptom/],
      ['viewer', { body: report, token: tokens.viewer }, 403, /role viewer/],
      ['operator', { body: report, token: tokens.operator }, 403, /role operator/],
      ['scoped token, other site', { body: { ...report, site: 'plant-a' }, token: tokens.scoped }, 403, /scoped/],
      ['scoped token, no site', { body: report, token: tokens.scoped }, 403, /scoped/],
      // A device of another site is unknown to a scoped token: the answer must not say where it is.
      ['scoped token, a device of another site', { body: { ...report, site: 'plant-b' }, token: tokens.scoped }, 400, /^deviceId: pump-1 is not a device this server knows/],
      ['no token', { body: report, token: '' }, 401, /Bearer/],
    ];
    for (const [name, o, status, problem] of cases) {
      const r = await call('POST', '/api/v1/tickets', { ...o, token: o.token === '' ? null : o.token });
      expect(r.status, name).toBe(status);
      expect(r.body.message, name).toMatch(problem);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('carries a report from the call to the closed return visit, with webhook events on the way', async () => {
    // No device and a site nobody knows: it waits for review.
    const created = await call('POST', '/api/v1/tickets', { body: { channel: 'web', contact: { name: 'Kim Lee' }, site: 'the-big-plant', symptom: 'pump makes noise', urgency: 'normal' } });
    expect(created).toMatchObject({ status: 201, body: { joined: false, ticket: { status: 'new', source: 'reported', fault: 'unspecified', deviceId: null } } });
    const id = created.body.ticket.id;
    const steps: [string, string, unknown, number, string?][] = [
      ['acknowledge', `/api/v1/tickets/${id}/acknowledge`, {}, 409],
      ['review with an unknown site', `/api/v1/tickets/${id}/review`, { site: 'the-big-plant' }, 400],
      ['review', `/api/v1/tickets/${id}/review`, { site: 'plant-a', deviceId: 'fan-2', fault: 'imbalance' }, 200, 'open'],
      ['review twice', `/api/v1/tickets/${id}/review`, { site: 'plant-a' }, 409],
      ['acknowledge', `/api/v1/tickets/${id}/acknowledge`, {}, 200, 'acknowledged'],
      ['dispatch', `/api/v1/tickets/${id}/assign`, { assignee: 'north-team' }, 200, 'acknowledged'],
      ['accept before resolution', `/api/v1/tickets/${id}/accept`, { by: 'Kim' }, 409],
      ['plan a visit', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now() + DAY, technician: 'Tom' }, 201, 'acknowledged'],
      ['visit without a technician', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now() }, 400],
      ['visit 1: not fixed', `/api/v1/tickets/${id}/visits/1`, { arrivedAt: Date.now(), leftAt: Date.now() + 3_600_000, workDone: 'balanced impeller', result: 'not_fixed' }, 200, 'acknowledged'],
      ['visit 1 again', `/api/v1/tickets/${id}/visits/1`, { result: 'fixed' }, 409],
      ['visit 7', `/api/v1/tickets/${id}/visits/7`, { result: 'fixed' }, 404],
      ['visit that leaves before it arrives', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now(), technician: 'Tom', arrivedAt: 2000, leftAt: 1000 }, 400],
      ['visit with a bad part', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now(), technician: 'Tom', partsUsed: [{ name: 'bolt', quantity: -1 }] }, 400],
      ['visit 2: fixed', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now(), technician: 'Tom', arrivedAt: Date.now(), partsUsed: [{ name: 'impeller', quantity: 1 }], result: 'fixed' }, 201, 'acknowledged'],
      ['resolve', `/api/v1/tickets/${id}/resolve`, { outcome: 'confirmed', note: 'impeller replaced' }, 200, 'resolved'],
      ['visit after resolution', `/api/v1/tickets/${id}/visits`, { plannedAt: Date.now(), technician: 'Tom' }, 409],
      ['accept', `/api/v1/tickets/${id}/accept`, { by: 'Kim Lee' }, 200, 'accepted'],
      ['accept twice', `/api/v1/tickets/${id}/accept`, { by: 'Kim Lee' }, 409],
      ['survey out of range', `/api/v1/tickets/${id}/survey`, { score: 6 }, 400],
    ];
    for (const [name, url, body, status, want] of steps) {
      const before = await snapshot();
      const r = await call('POST', url, { body });
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(status);
      if (want) expect(r.body.ticket.status, name).toBe(want);
      else expect(await snapshot(), `${name} changed nothing`).toEqual(before);
    }
    const t = (await call('GET', `/api/v1/tickets/${id}`)).body;
    expect(t).toMatchObject({ site: 'plant-a', deviceId: 'fan-2', source: 'reported', firstTimeFix: false, acceptance: { by: 'Kim Lee', via: 'technician' }, visits: [{ n: 1, result: 'not_fixed' }, { n: 2, result: 'fixed', partsUsed: [{ name: 'impeller', quantity: 1 }] }] });

    // The return visit through the signed page, as the customer would answer it.
    const link = await call('POST', `/api/v1/tickets/${id}/link`, { body: { purpose: 'survey' } });
    expect(link).toMatchObject({ status: 200, body: { purpose: 'survey', url: expect.stringMatching(/^\/survey\//) } });
    const form = await page(link.body.url);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('How satisfied are you');
    const bad = await page(link.body.url, { score: '9' });
    expect(bad.status).toBe(400);
    expect((await srv.server.tickets.store.get(id))!.status).toBe('accepted');
    const answered = await page(link.body.url, { score: '5', nps: '9', comment: 'quick and friendly' });
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain('Thank you');
    expect(await srv.server.tickets.store.get(id)).toMatchObject({ status: 'closed', closeReason: 'answered', survey: { score: 5, nps: 9, comment: 'quick and friendly', via: 'page' } });
    const again = await page(link.body.url, { score: '1' });
    expect(again.status).toBe(409);
    expect((await srv.server.tickets.store.get(id))!.survey!.score).toBe(5);

    const types = (await call('GET', `/api/v1/tickets/${id}/history`)).body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['ticket.created', 'ticket.reviewed', 'ticket.acknowledged', 'ticket.assigned', 'ticket.visit_planned', 'ticket.visit_updated', 'ticket.visit_planned', 'ticket.resolved', 'ticket.accepted', 'ticket.surveyed']);
  });

  it('lets the customer confirm the fix through the signed accept link, then answer the survey it leads to', async () => {
    const t = (await call('POST', '/api/v1/tickets', { body: { ...report, deviceId: 'fan-2', fault: 'misalignment' } })).body.ticket;
    await call('POST', `/api/v1/tickets/${t.id}/resolve`, { body: { outcome: 'confirmed', note: 'realigned' } });
    const link = (await call('POST', `/api/v1/tickets/${t.id}/link`, { body: { purpose: 'accept' } })).body;
    expect(link.purpose).toBe('accept');
    expect(await (await page(link.url)).text()).toContain('Please confirm the repair');
    expect((await page(link.url, { by: '' })).status).toBe(400);
    const done = await page(link.url, { by: 'Kim Lee' });
    expect(done.status).toBe(200);
    const thanks = await done.text();
    expect(await srv.server.tickets.store.get(t.id)).toMatchObject({ status: 'accepted', acceptance: { by: 'Kim Lee', via: 'link' } });
    expect((await page(link.url, { by: 'Someone Else' })).status).toBe(409);
    const survey = /href="([^"]+)"/.exec(thanks)![1]!.replaceAll('&amp;', '&');
    expect((await page(survey, { score: '3' })).status).toBe(200);
    expect(await srv.server.tickets.store.get(t.id)).toMatchObject({ status: 'closed', survey: { score: 3 } });
  });

  it("sends visits, the resolution's customer link and the answer to the desk's tool as signed webhook events", async () => {
    const receiver = new WebhookReceiver('desk-secret-for-the-visit-events');
    const url = await receiver.start();
    try {
      const sub = await call('POST', '/api/v1/webhooks', { token: ADMIN, body: { url, events: ['ticket.visit_planned', 'ticket.visit_updated', 'ticket.resolved', 'ticket.surveyed'], secret: 'desk-secret-for-the-visit-events' } });
      expect(sub.status).toBe(201);
      const t = (await call('POST', '/api/v1/tickets', { body: { ...report, deviceId: 'pump-9', fault: 'lubrication' } })).body.ticket;
      await call('POST', `/api/v1/tickets/${t.id}/visits`, { body: { plannedAt: Date.now(), technician: 'Tom' } });
      await call('POST', `/api/v1/tickets/${t.id}/visits/1`, { body: { arrivedAt: Date.now(), result: 'fixed', partsUsed: [{ name: 'grease', quantity: 0.5 }] } });
      await call('POST', `/api/v1/tickets/${t.id}/resolve`, { body: { outcome: 'confirmed', note: 'regreased' } });
      await call('POST', `/api/v1/tickets/${t.id}/survey`, { body: { score: 5 } });
      const got = await waitFor(() => {
        const mine = receiver.requests.filter((r) => r.ticketId === t.id && r.signed);
        return mine.length >= 4 ? mine : undefined;
      }, { message: 'four signed events for the ticket' });
      expect(got.map((r) => r.type)).toEqual(['ticket.visit_planned', 'ticket.visit_updated', 'ticket.resolved', 'ticket.surveyed']);
      await call('DELETE', `/api/v1/webhooks/${sub.body.id}`, { token: ADMIN });
    } finally {
      await receiver.stop();
    }
  });

  it('joins a report to the open predicted ticket of the same device, and says so', async () => {
    const predicted = (await srv.server.tickets.handleFinding({ ruleId: 'temp', deviceId: 'pump-1', metric: 'bearing_temp', severity: 'warning', event: 'fire', fault: 'overheating', at: Date.now(), evidence: {}, dedupeKey: 'pump-1:overheating', site: 'plant-a' }))!;
    const r = await call('POST', '/api/v1/tickets', { body: report });
    expect(r).toMatchObject({ status: 201, body: { joined: true, ticket: { id: predicted.id, source: 'predicted', customerNoticed: true }, event: { type: 'ticket.reported' } } });
  });

  it('refuses tampered, expired and foreign survey links with a page that says so, changing nothing', async () => {
    const t = (await call('POST', '/api/v1/tickets', { body: { ...report, deviceId: 'pump-9', fault: 'imbalance' } })).body.ticket;
    await call('POST', `/api/v1/tickets/${t.id}/resolve`, { body: { outcome: 'confirmed', note: 'done' } });
    const url: string = (await call('POST', `/api/v1/tickets/${t.id}/link`, { body: { purpose: 'survey' } })).body.url;
    // Links are made only by the desk, for a ticket at the right stage, and only for its own purposes.
    const open = (await call('POST', '/api/v1/tickets', { body: { ...report, deviceId: 'pump-9', fault: 'misalignment' } })).body.ticket;
    for (const [body, token, status] of [
      [{ purpose: 'survey' }, tokens.viewer, 403],
      [{ purpose: 'admin' }, undefined, 400],
      [{ purpose: 'survey', ticketId: 1 }, undefined, 400],
    ] as const) expect((await call('POST', `/api/v1/tickets/${t.id}/link`, { body, token })).status, JSON.stringify(body)).toBe(status);
    // A token scoped to plant-b cannot make a link for a plant-a ticket: it does not exist for it.
    const elsewhere = (await srv.server.tickets.store.list({ site: 'plant-a', limit: 1, offset: 0 })).tickets[0]!;
    expect((await call('POST', `/api/v1/tickets/${elsewhere.id}/link`, { body: { purpose: 'survey' }, token: tokens.scoped })).status).toBe(404);
    expect((await call('POST', `/api/v1/tickets/${open.id}/link`, { body: { purpose: 'survey' } })).status).toBe(409);
    const before = await snapshot();
    const i = url.length - 5;
    const tampered = url.slice(0, i) + (url[i] === 'a' ? 'b' : 'a') + url.slice(i + 1);
    const otherTicket = url.replace(`/survey/${t.id}.`, `/survey/${t.id - 1}.`);
    const expired = srv.server.tickets.link((await srv.server.tickets.store.get(t.id))!, 'survey', Date.now() - 30 * DAY)!.url;
    for (const [name, u, status, text] of [
      ['one character changed', tampered, 403, 'not valid'],
      ['another ticket id', otherTicket, 403, 'not valid'],
      ['expired', expired, 410, 'expired'],
      ['garbage', '/survey/%00%00', 403, 'not valid'],
      // The router refuses a path parameter this long before any handler.
      ['very long', `/survey/${'x'.repeat(300)}`, 414, ''],
    ] as const) {
      for (const form of [undefined, { score: '5' }]) {
        const res = await page(u, form);
        expect(res.status, `${name} ${form ? 'POST' : 'GET'}`).toBe(status);
        expect(await res.text()).toContain(text);
      }
    }
    // A JSON body is checked as the form is (and fails: no score as a form field); an oversized form is refused.
    const json = await fetch(`${srv.httpUrl}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"score":5}' });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain('please choose how satisfied you are');
    const huge = await page(url, { score: '5', comment: 'x'.repeat(20_000) });
    expect(huge.status).toBe(413);
    expect(await snapshot()).toEqual(before);
  });

  it('takes a complaint through its flow; refuses malformed bodies, unknown fields, wrong roles, impossible steps and archiving without a root cause', async () => {
    const snap = async () => ({ list: await srv.server.tickets.complaints.store.list({ limit: 500, offset: 0 }), history: await srv.server.tickets.store.sql.get('SELECT COUNT(*) AS n FROM complaint_event') });
    const ticketId = (await call('GET', '/api/v1/tickets?device=pump-1')).body.tickets[0].id;
    const body = { channel: 'email', contact: { name: 'Kim Lee', email: 'kim@example.com' }, complaintType: 'service', cause: 'speed', description: 'the technician came two days late', ticketIds: [ticketId] };
    const before = await snap();
    const bad: [string, { body?: unknown; raw?: string; token?: string }, number, RegExp][] = [
      ['not JSON', { raw: '{"channel"' }, 400, /JSON/i],
      ['unknown field', { body: { ...body, grade: 'routine' } }, 400, /grade/],
      ['bad type', { body: { ...body, complaintType: 'weather' } }, 400, /complaintType/],
      ['cause of another type', { body: { ...body, cause: 'billing' } }, 400, /service complaint is about attitude, speed, competence/],
      ['unknown ticket', { body: { ...body, ticketIds: [99999] } }, 400, /no ticket 99999/],
      ['ticket id that is not a number', { body: { ...body, ticketIds: ['1 OR 1=1'] } }, 400, /ticketIds/],
      ['no description', { body: { ...body, description: '' } }, 400, /description/],
      ['viewer', { body, token: tokens.viewer }, 403, /role viewer/],
      ['operator', { body, token: tokens.operator }, 403, /role operator/],
      ['scoped token, no site', { body, token: tokens.scoped }, 403, /scoped/],
      ['scoped token, a ticket of another site', { body: { ...body, site: 'plant-b' }, token: tokens.scoped }, 400, /no ticket/],
    ];
    for (const [name, o, status, problem] of bad) {
      const r = await call('POST', '/api/v1/complaints', o);
      expect(r.status, name).toBe(status);
      expect(r.body.message, name).toMatch(problem);
    }
    expect(await snap()).toEqual(before);

    const created = await call('POST', '/api/v1/complaints', { body });
    expect(created).toMatchObject({ status: 201, body: { complaint: { status: 'registered', grade: 'important', site: 'plant-a', ticketIds: [ticketId], repeat: false } } });
    const id = created.body.complaint.id;
    const rootCause = { cause: 'no technician free in the north that week', whys: ['late visit', 'nobody free', 'two on leave'], correctiveAction: 'plan leave per region' };
    const steps: [string, string, unknown, number, string?][] = [
      ['resolve before assessing', 'resolve', { resolution: 'credited' }, 409],
      ['assess with a bad grade', 'assess', { grade: 'urgent', note: 'x' }, 400],
      ['assess', 'assess', { note: 'confirmed from the dispatch log' }, 200, 'assessed'],
      ['resolve', 'resolve', { resolution: 'apologised; the visit is credited' }, 200, 'resolved'],
      ['archive before the return visit', 'archive', { rootCause }, 409],
      ['follow up with a score of 9', 'follow-up', { reached: true, score: 9, note: 'x' }, 400],
      ['follow up', 'follow-up', { reached: true, score: 4, note: 'fine now' }, 200, 'followed_up'],
      ['archive without a root cause', 'archive', {}, 400],
      ['archive without whys', 'archive', { rootCause: { cause: 'x', whys: [], correctiveAction: 'y' } }, 400],
      ['archive with six whys', 'archive', { rootCause: { ...rootCause, whys: ['1', '2', '3', '4', '5', '6'] } }, 400],
      ['archive', 'archive', { rootCause }, 200, 'archived'],
      ['archive twice', 'archive', { rootCause }, 409],
    ];
    for (const [name, action, b, status, want] of steps) {
      const prior = await snap();
      const r = await call('POST', `/api/v1/complaints/${id}/${action}`, { body: b });
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(status);
      if (want) expect(r.body.complaint.status, name).toBe(want);
      else expect(await snap(), `${name} changed nothing`).toEqual(prior);
    }
    expect((await call('POST', `/api/v1/complaints/${id}/assess`, { body: { note: 'x' }, token: tokens.viewer })).status).toBe(403);
    expect((await call('POST', '/api/v1/complaints/9999/assess', { body: { note: 'x' } })).status).toBe(404);
    expect((await call('GET', `/api/v1/complaints/${id}`, { token: tokens.scoped })).status).toBe(404);
    expect((await call('GET', `/api/v1/complaints/${id}/history`, { token: tokens.viewer })).body.events.map((e: { type: string }) => e.type)).toEqual(['complaint.registered', 'complaint.assessed', 'complaint.resolved', 'complaint.followed_up', 'complaint.archived']);
    // The same customer about the same cause again: flagged, and one grade up.
    const again = await call('POST', '/api/v1/complaints', { body: { ...body, description: 'late once more' } });
    expect(again.body.complaint).toMatchObject({ repeat: true, repeatOf: id, grade: 'high' });
  });

  it('answers the KPIs per site with targets and industry bands, as JSON and CSV; refuses bad queries', async () => {
    const k = await call('GET', '/api/v1/kpis?groupBy=site&interval=month', { token: tokens.viewer });
    expect(k.status).toBe(200);
    expect(k.body).toMatchObject({ groupBy: 'site', interval: 'month', targets: { responseMinutes: 30, firstTimeFix: 0.85, resolution: 0.95, satisfaction: 0.9 }, industry: { firstTimeFix: { bestInClass: 0.88 } } });
    const a = k.body.rows.find((r: { group: string }) => r.group === 'plant-a');
    // plant-a: the reviewed report (two visits), the one confirmed through the link, the one that joined a predicted ticket.
    expect(a).toMatchObject({ opened: 3, firstTimeFix: { judged: 1, rate: 0 }, satisfaction: { answered: 2, rate: 0.5 }, nps: { answered: 1, score: 100 }, complaints: { count: 2, per100Tickets: 200 / 3, repeatRate: 0.5 } });
    expect(a.belowTarget).toContain('firstTimeFix');
    const csv = await call('GET', '/api/v1/kpis?groupBy=source&interval=week&format=csv', { token: tokens.viewer });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\r\n')[0]).toMatch(/^group,period,opened,response_mean_min/);
    expect(csv.body).toMatch(/\r\nreported,\d{4}-\d\d-\d\d,/);
    const scoped = await call('GET', '/api/v1/kpis', { token: tokens.scoped });
    expect(scoped.body.rows.map((r: { group: string }) => r.group)).toEqual(['plant-b']);
    // The raised events: readable by any role, refused to a token scoped to sites (they span sites).
    await srv.server.tickets.checkKpis();
    const alerts = await call('GET', '/api/v1/kpis/alerts?limit=10', { token: tokens.viewer });
    expect(alerts.status).toBe(200);
    expect(alerts.body.alerts).toEqual(await srv.server.tickets.kpiAlerts.list(10));
    expect((await call('GET', '/api/v1/kpis/alerts', { token: tokens.scoped })).status).toBe(403);
    for (const q of ['limit=0', 'limit=1e9', 'limit=abc', 'site=plant-a']) expect((await call('GET', `/api/v1/kpis/alerts?${q}`)).status, q).toBe(400);
    for (const q of ['groupBy=planet', 'interval=day', 'from=2026-02-01&to=2026-01-01', 'from=yesterday', 'format=xml', 'from=2020-01-01&to=2026-01-01', 'colour=red']) {
      const r = await call('GET', `/api/v1/kpis?${q}`);
      expect(r.status, q).toBe(400);
    }
  });
});
