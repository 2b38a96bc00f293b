import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { defaultRulesetText } from '../../rules/index.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const ADMIN = 'admin-token-for-the-cases-api-test';
type Res = { status: number; body: any; type: string }; // eslint-disable-line @typescript-eslint/no-explicit-any

// The fans are one model; fan-9 stands at another site than fan-2.
const RULESET = defaultRulesetText().replace(/^devices: \[\]$/m, 'devices:\n  - { id: "fan-*", model: AF-710, firmware: "2.0", installedAt: "2026-01-01" }\n  - { id: fan-9, firmware: "2.1" }');

describe.each(ENGINES)('case library, engineering report and parts forecast over the API (%s)', (engine) => {
  const tmp = tempDir();
  let srv: ServerHandle;
  const tokens: Record<string, string> = {};
  const call = async (method: string, url: string, o: { token?: string | null; body?: unknown } = {}): Promise<Res> => {
    const token = o.token === undefined ? ADMIN : o.token;
    const res = await srv.server.http.inject({
      method: method as 'GET',
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
    });
    const type = String(res.headers['content-type'] ?? '');
    return { status: res.statusCode, body: type.includes('json') ? res.json() : res.body, type };
  };
  let wearing: number;

  beforeAll(async () => {
    srv = await startServer({ database: engine === 'postgres' ? await freshDatabase() : undefined, dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    for (const role of ['viewer', 'operator', 'service_desk']) tokens[role] = (await call('POST', '/api/v1/tokens', { body: { name: `${role}-1`, role } })).body.token;
    tokens.deskB = (await call('POST', '/api/v1/tokens', { body: { name: 'desk-b', role: 'service_desk', scope: { sites: ['plant-b'] } } })).body.token;
    expect((await call('POST', '/api/v1/rulesets', { token: tokens.operator, body: { yaml: RULESET, comment: 'models of the fans' } })).status).toBe(201);
    wearing = (await srv.server.tickets.handleFinding(bearingFinding('fan-2')))!.id;
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('gives a ticket its equipment from the ruleset, and refuses bad resolutions with a 400 that changes nothing', async () => {
    const t = (await call('GET', `/api/v1/tickets/${wearing}`)).body;
    expect(t.equipment).toEqual({ model: 'AF-710', firmware: '2.0', installedAt: Date.UTC(2026, 0, 1) });
    const bad: [unknown, RegExp][] = [
      [{ outcome: 'confirmed', note: 'x', faultCode: 'M9.9' }, /faultCode: "M9.9" is not in the fault-code catalog/],
      [{ outcome: 'confirmed', note: 'x', faultCode: 'x'.repeat(41) }, /faultCode/],
      [{ outcome: 'confirmed', note: 'x', partsUsed: [{ name: 'bearing', quantity: -1 }] }, /partsUsed\.0\.quantity/],
      [{ outcome: 'confirmed', note: 'x', partsUsed: [{ name: '', quantity: 1 }] }, /partsUsed\.0\.name/],
      [{ outcome: 'confirmed', note: 'x', action: 'y'.repeat(4001) }, /action/],
      [{ outcome: 'confirmed', note: 'x', component: 'c'.repeat(201) }, /component/],
      [{ outcome: 'confirmed', note: 'x', minutesOnSite: -5 }, /minutesOnSite/],
      [{ outcome: 'confirmed', note: 'x', minutesOnSite: 1.5 }, /minutesOnSite/],
      [{ outcome: 'confirmed', note: 'x', rootCause: 'bearing' }, /rootCause/],
    ];
    for (const [body, why] of bad) {
      const r = await call('POST', `/api/v1/tickets/${wearing}/resolve`, { token: tokens.service_desk, body });
      expect([r.status, r.body.message], JSON.stringify(body).slice(0, 80)).toEqual([400, expect.stringMatching(why)]);
    }
    expect((await call('GET', `/api/v1/tickets/${wearing}`)).body).toMatchObject({ status: 'open', resolution: null, version: t.version });
    expect((await call('GET', '/api/v1/cases?q=bearing')).body.cases).toEqual([]);
  });

  it('files the resolution as a case that a sibling fan at another site is shown first, and that search finds by code and words', async () => {
    const resolved = await call('POST', `/api/v1/tickets/${wearing}/resolve`, {
      token: tokens.service_desk,
      body: { outcome: 'confirmed', note: 'bearing was pitted', faultCode: ' m 2.4', component: 'drive-end bearing', action: 'replaced the drive-end bearing 6205', partsUsed: [{ name: 'bearing 6205', quantity: 1 }], minutesOnSite: 75 },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.ticket.resolution).toEqual({ faultCode: 'M2.4', component: 'drive-end bearing', action: 'replaced the drive-end bearing 6205', partsUsed: [{ name: 'bearing 6205', quantity: 1 }], minutesOnSite: 75 });
    expect(resolved.body.event.detail.resolution.faultCode).toBe('M2.4');

    const sibling = (await srv.server.tickets.handleFinding(bearingFinding('fan-9', { site: 'plant-b' })))!;
    expect(sibling.equipment).toMatchObject({ model: 'AF-710', firmware: '2.1' });
    // fan-9 is at another site: the case is told without plant-a's ticket number and device.
    expect(sibling.suggestedAction).toMatch(/^As on another AF-710 at another site \(M2.4 Wear\): replaced the drive-end bearing 6205\./);
    expect(sibling.likelyParts[0]).toBe('bearing 6205');
    const similar = await call('GET', `/api/v1/tickets/${sibling.id}/similar`, { token: tokens.service_desk });
    expect(similar.status).toBe(200);
    expect(similar.body.cases[0]).toMatchObject({ case: { ticketId: wearing, model: 'AF-710', faultCode: 'M2.4', outcome: 'confirmed' }, falseAlarm: false, reasons: expect.arrayContaining(['same model', 'same fault']) });

    for (const q of ['M2.4', 'm 2.4', 'pitted', 'drive-end 6205']) expect((await call('GET', `/api/v1/cases?q=${encodeURIComponent(q)}`, { token: tokens.viewer })).body.cases.map((c: { ticketId: number }) => c.ticketId), q).toEqual([wearing]);
    expect((await call('GET', '/api/v1/cases')).status).toBe(400);
    expect((await call('GET', `/api/v1/cases?q=${'a'.repeat(201)}`)).status).toBe(400);
    expect((await call('GET', '/api/v1/tickets/999999/similar')).status).toBe(404);
    const codes = (await call('GET', '/api/v1/fault-codes', { token: tokens.viewer })).body.codes;
    expect(codes).toEqual(expect.arrayContaining([{ code: 'M2.4', kind: 'failure_mechanism', title: 'Wear' }]));
  });

  it('keeps another site’s cases from a token scoped to plant-b, as it keeps its tickets', async () => {
    expect((await call('GET', '/api/v1/cases?q=bearing', { token: tokens.deskB })).body.cases).toEqual([]);
    expect((await call('GET', `/api/v1/tickets/${wearing}/similar`, { token: tokens.deskB })).status).toBe(404);
    const mine = (await call('GET', '/api/v1/tickets?device=fan-9', { token: tokens.deskB })).body.tickets[0];
    expect((await call('GET', `/api/v1/tickets/${mine.id}/similar`, { token: tokens.deskB })).body.cases).toEqual([]);
    expect((await call('GET', '/api/v1/reports/faults?groupBy=site', { token: tokens.deskB })).body.rows.map((r: { group: string }) => r.group)).toEqual(['plant-b']);
  });

  it('reports faults per model with CSV, and forecasts the parts of open predicted tickets', async () => {
    const report = await call('GET', '/api/v1/reports/faults?groupBy=model', { token: tokens.viewer });
    expect(report.status).toBe(200);
    expect(report.body.rows).toEqual([expect.objectContaining({ group: 'AF-710', tickets: 2, devices: 2, judged: 1, confirmed: 1, confirmedShare: 1, faults: [{ fault: 'bearing_wear', count: 2 }], faultCodes: [{ code: 'M2.4', title: 'Wear', count: 1 }] })]);
    const csv = await call('GET', '/api/v1/reports/faults?groupBy=firmware&format=csv');
    expect(csv.type).toMatch(/text\/csv/);
    expect(csv.body).toMatch(/^group,tickets,.*\r\nAF-710 2\.0,1,1,1,1,1,/);
    for (const q of ['groupBy=colour', 'from=2026-02-01&to=2026-01-01', 'from=yesterday', 'format=xml', 'limit=5']) expect((await call('GET', `/api/v1/reports/faults?${q}`)).status, q).toBe(400);

    const forecast = await call('GET', '/api/v1/parts/forecast?days=30&groupBy=region', { token: tokens.service_desk });
    expect(forecast.status).toBe(200);
    const bearing = forecast.body.lines.find((l: { part: string }) => l.part === 'bearing 6205');
    expect(bearing).toMatchObject({ group: 'default', stock: 1, tickets: [{ source: 'likely', deviceId: 'fan-9', precision: 1 }] });
    expect((await call('GET', '/api/v1/parts/forecast?format=csv')).body).toMatch(/^group,part,quantity,stock,tickets\r\n/);
    for (const q of ['days=0', 'days=366', 'groupBy=site', 'days=ten']) expect((await call('GET', `/api/v1/parts/forecast?${q}`)).status, q).toBe(400);
  });

  it('lets an operator edit a fault’s advice, with versions and an audit entry, and nobody else', async () => {
    const edit = { title: 'Bearing wear', action: 'Check the envelope spectrum first; replace before zone C.', parts: ['bearing 6205'], comment: 'our fans use 6205s' };
    expect((await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.viewer, body: edit })).status).toBe(403);
    expect((await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.service_desk, body: edit })).status).toBe(403);
    expect((await call('PUT', '/api/v1/knowledge/bearing_wear', { token: null, body: edit })).status).toBe(401);
    expect((await call('PUT', '/api/v1/knowledge/%62earing_wear', { token: tokens.viewer, body: edit })).status).toBe(403);
    expect((await call('PUT', '/api/v1/knowledge/engine_fire', { token: tokens.operator, body: edit })).status).toBe(400);
    expect((await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.operator, body: { ...edit, comment: undefined } })).status).toBe(400);
    expect((await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.operator, body: { ...edit, action: 'a'.repeat(4001) } })).status).toBe(400);
    expect((await call('GET', '/api/v1/knowledge/bearing_wear')).body).toMatchObject({ current: { source: 'shipped', version: null }, versions: [] });
    const v1 = await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.operator, body: edit });
    expect(v1).toMatchObject({ status: 200, body: { fault: 'bearing_wear', version: 1, author: 'operator-1', comment: 'our fans use 6205s' } });
    const v2 = await call('PUT', '/api/v1/knowledge/bearing_wear', { token: tokens.operator, body: { ...edit, action: 'Second thoughts.', comment: 'shorter' } });
    expect(v2.body.version).toBe(2);
    const k = (await call('GET', '/api/v1/knowledge/bearing_wear', { token: tokens.viewer })).body;
    expect(k.current).toMatchObject({ action: 'Second thoughts.', source: 'edited', version: 2 });
    expect(k.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await call('GET', '/api/v1/knowledge')).body.entries.find((e: { fault: string }) => e.fault === 'imbalance')).toMatchObject({ source: 'shipped' });
    const audit = (await call('GET', '/api/v1/audit?action=knowledge.publish')).body.entries;
    expect(audit.map((e: { detail: { version: number } }) => e.detail.version)).toEqual([2, 1]);
    // New tickets carry the edited advice after the best case's fix.
    const t = (await srv.server.tickets.handleFinding(bearingFinding('pump-7', { site: 'plant-a' })))!;
    expect(t.suggestedAction).toMatch(/Second thoughts\.$/);
  });
});
