import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { Reading } from '../../core/index.ts';
import { defaultRulesetText } from '../../rules/index.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, asGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const MIN = 60_000;
const ADMIN = 'admin-token-for-the-db-copy-test';

async function vigil(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { env: { ...process.env, ...env }, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// A single server on SQLite moves into PostgreSQL: the API answers the same afterwards.
describe('vigil db copy: a SQLite server into PostgreSQL', () => {
  const tmp = tempDir();
  const dir = join(tmp.dir, 'server');
  let srv: ServerHandle | undefined;
  let url: string;
  const t0 = Date.now() - 4 * 60 * MIN;
  const api = async (path: string, init?: { method?: string; body?: unknown }) => {
    const res = await fetch(`${srv!.httpUrl}${path}`, {
      method: init?.method ?? 'GET',
      headers: { authorization: `Bearer ${ADMIN}`, ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init?.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const start = (database?: string) => startServer({ database, dataDir: dir, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
  /** What a user reads through the API: tickets, rulesets, tokens, findings, history, maintenance, webhooks. */
  const snapshot = async () => {
    const tokens = (await api('/api/v1/tokens')).body.tokens.map(({ lastUsedAt: _, ...t }: Record<string, unknown>) => t);
    return {
      tickets: (await api('/api/v1/tickets?limit=500')).body,
      rulesets: (await api('/api/v1/rulesets')).body,
      active: (await api('/api/v1/rulesets/active')).body.yaml,
      tokens,
      findings: (await api('/api/v1/findings?limit=1000')).body,
      history: (await api(`/api/v1/history?device=pump-1&metrics=bearing_temp&from=${t0}&to=${t0 + 200 * MIN}`)).body,
      windows: (await api('/api/v1/maintenance-windows?state=all')).body,
      webhooks: (await api('/api/v1/webhooks')).body,
      cases: (await api('/api/v1/cases?q=bearing')).body,
      knowledge: (await api('/api/v1/knowledge/overheating')).body,
    };
  };
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    url = await freshDatabase('copy');
    srv = await start();
    // A desk that is down: its deliveries wait in the queue, and move with the rest.
    expect((await api('/api/v1/webhooks', { method: 'POST', body: { url: 'http://127.0.0.1:9/desk', secret: 'a-webhook-secret-of-some-length', events: ['ticket.created'] } })).status).toBe(201);
    const gw = await asGateway(srv.brokerUrl);
    const readings: Reading[] = [];
    for (let i = 0; i < 150; i++) {
      readings.push({ deviceId: 'pump-1', metric: 'bearing_temp', value: i < 120 ? 50 + (i % 5) * 0.4 : 90 + (i % 3) * 0.1, ts: t0 + i * MIN });
      readings.push({ deviceId: 'fan-1', metric: 'vibration_rms', value: 1.5 + (i % 7) * 0.02, ts: t0 + i * MIN });
    }
    await gw.send(readings);
    gw.client.end(true);
    await waitFor(async () => (await api('/api/v1/tickets?device=pump-1')).body.tickets?.length === 1, { message: 'a ticket for pump-1' });
    const ticket = (await api('/api/v1/tickets?device=pump-1')).body.tickets[0];
    expect((await api(`/api/v1/tickets/${ticket.id}/acknowledge`, { method: 'POST', body: { note: 'on it' } })).status).toBe(200);
    expect((await api('/api/v1/tokens', { method: 'POST', body: { name: 'desk-1', role: 'service_desk' } })).status).toBe(201);
    const yaml = defaultRulesetText().replace(/warning: 80, critical: 95/, 'warning: 82, critical: 95');
    expect((await api('/api/v1/rulesets', { method: 'POST', body: { yaml, comment: 'a little higher' } })).status).toBe(201);
    expect((await api('/api/v1/maintenance-windows', { method: 'POST', body: { devices: ['fan-1'], end: Date.now() + 3_600_000, reason: 'bearing change' } })).status).toBe(201);
    // A case and an edited piece of advice: the library is filed again from the tickets, the advice is copied.
    expect((await api(`/api/v1/tickets/${ticket.id}/resolve`, { method: 'POST', body: { outcome: 'confirmed', note: 'bearing dry', faultCode: 'M2.7', action: 'regreased the bearing' } })).status).toBe(200);
    expect((await api('/api/v1/knowledge/overheating', { method: 'PUT', body: { title: 'Over-temperature', action: 'Check the grease first.', parts: ['grease'], comment: 'most are dry bearings' } })).status).toBe(200);
    before = await snapshot();
    expect(before.cases.cases.map((c: { ticketId: number }) => c.ticketId)).toEqual([ticket.id]);
    await srv.server.stop();
    srv = undefined;
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('copies every shared table with its ids, checks the counts, and the API answers the same from PostgreSQL', async () => {
    const r = await vigil(['db', 'copy', '--from', `sqlite:${dir}/server.db`, '--to', url]);
    expect(r.err).toMatch(/every table has the same count of rows/);
    expect(r.code).toBe(0);
    const counts = Object.fromEntries(r.out.split('\n').map((l) => l.split('\t')).map(([t, s, d, ok]) => [t, { s: Number(s), d: Number(d), ok }]));
    for (const t of ['ticket', 'ticket_event', 'finding', 'ruleset_version', 'api_token', 'rollup_1m', 'audit_log', 'delivery', 'maintenance_window', 'knowledge_version']) {
      expect(counts[t], t).toMatchObject({ ok: 'ok' });
      expect(counts[t]!.s, t).toBeGreaterThan(0);
    }
    // The dedupe ledger and the TSDB spools stay with the server's own disk.
    expect(r.err).toMatch(/kept on the server's own disk, not copied: .*envelope_window/);
    expect(counts.ticket_case).toBeUndefined();

    srv = await start(url);
    expect(await snapshot()).toEqual(before);
    // New rows go on after the copied ids.
    const made = await api('/api/v1/tokens', { method: 'POST', body: { name: 'desk-2', role: 'service_desk' } });
    expect(made.body.id).toBe(Math.max(...before.tokens.map((t: { id: number }) => t.id)) + 1);
    const report = await api('/api/v1/tickets', { method: 'POST', body: { channel: 'phone', contact: { name: 'Ann' }, site: 'plant-a', symptom: 'loud noise', urgency: 'high' } });
    expect(report.status).toBe(201);
    expect(report.body.ticket.id).toBeGreaterThan(Math.max(...before.tickets.tickets.map((t: { id: number }) => t.id)));
  });

  it('refuses to copy into a database that already holds data, and says why', async () => {
    const r = await vigil(['db', 'copy', '--from', `sqlite:${dir}/server.db`, '--to', url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already holds rows in \w+: copy into an empty database/);
  });

  it('applies migrations on demand, and refuses bad arguments with usage', async () => {
    const fresh = await freshDatabase('migrate');
    const m = await vigil(['db', 'migrate', '--database', fresh]);
    expect(m.code).toBe(0);
    expect(m.out).toMatch(/\d+ migrations applied, schema current/);
    expect((await vigil(['db', 'migrate', '--database', 'mysql://x'])).code).toBe(2);
    expect((await vigil(['db', 'copy', '--from', `sqlite:${dir}/nope.db`, '--to', url])).code).toBe(66);
    expect((await vigil(['db', 'copy', '--from', `sqlite:${dir}/server.db`, '--to', 'http://x'])).code).toBe(2);
    expect((await vigil(['db', 'frobnicate'])).code).toBe(2);
  });
});
