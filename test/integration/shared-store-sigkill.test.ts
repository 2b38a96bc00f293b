import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LOCKS, PostgresSql } from '../../core/index.ts';
import { VigilProcess } from '../helpers/child.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, SITE, type ServerHandle, passwordHash, startServer } from '../helpers/pipeline.ts';
import { WebhookReceiver } from '../helpers/receiver.ts';
import { tempDir } from '../helpers/tmp.ts';

const SECRET = 'shared-store-sigkill-webhook-secret';
const TOKEN = 'admin-token-for-the-shared-sigkill-test';
const REPORTS = 300;
const WEBHOOKS = { initialBackoff: '50ms', maxBackoff: '300ms', timeout: '2s', concurrency: 2 };

// Two servers on one PostgreSQL behind a load balancer; one of them is killed with SIGKILL while
// reports pour in through both and its deliveries are under way. The other carries on alone.
describe('a server killed mid-flood: the other one on the shared store takes over', () => {
  const tmp = tempDir();
  const receiver = new WebhookReceiver(SECRET, () => 200, 15);
  let url: string;
  let db: PostgresSql;
  let child: VigilProcess;
  let b: ServerHandle;
  let apiA: string;

  const slaHolder = async () => (await db.all<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted", [LOCKS.slaClock])).map((r) => r.pid);
  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    url = await freshDatabase('sigkill');
    db = new PostgresSql({ url, pool: 2 });
    const httpPort = await freePort();
    apiA = `http://127.0.0.1:${httpPort}`;
    const configFile = join(tmp.dir, 'a.yaml');
    writeFileSync(
      configFile,
      stringify({
        version: 1,
        dataDir: join(tmp.dir, 'a'),
        database: { url: '${VIGIL_DATABASE_URL}' },
        http: { host: '127.0.0.1', port: httpPort, apiToken: '${VIGIL_TOKEN}' },
        broker: { mode: 'embedded', host: '127.0.0.1', port: await freePort(), gateways: [{ gatewayId: GATEWAY_ID, site: SITE, passwordHash: passwordHash() }] },
        tickets: { slaCheckEvery: '1s', webhooks: WEBHOOKS },
      }),
    );
    // A starts first, so the SLA clock is its job until it dies.
    child = new VigilProcess(['server', '-c', configFile], { VIGIL_TOKEN: TOKEN, VIGIL_DATABASE_URL: url }).start();
    await child.waitForOutput(/server started/);
    await waitFor(async () => (await slaHolder()).length === 1, { message: 'A runs the SLA clock' });
    b = await startServer({ dataDir: join(tmp.dir, 'b'), database: url, tickets: { slaCheckEvery: '1s', webhooks: WEBHOOKS }, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await b?.server.stop();
    await receiver.stop();
    await db?.close();
    tmp.cleanup();
  });

  it('loses no report and no event, sends each event once in effect and in order per ticket, and moves the SLA clock within 30 s', async () => {
    const hookUrl = await receiver.start();
    expect((await call(b.httpUrl, 'POST', '/api/v1/webhooks', { url: hookUrl, secret: SECRET })).status).toBe(201);
    const slaBefore = await slaHolder();

    // Reports through both servers, ten at a time; A is killed halfway, with requests and deliveries
    // in flight. A request A never answered goes to B, as a load balancer would retry it.
    const accepted: number[] = [];
    let aDead = false;
    let killedAt = 0;
    const report = async (i: number) => {
      const body = { channel: 'phone', contact: { name: `Caller ${i}` }, site: SITE, symptom: `noise on line ${i}`, urgency: 'high' };
      if (i % 2 === 0 && !aDead) {
        try {
          const r = await call(apiA, 'POST', '/api/v1/tickets', body);
          if (r.status === 201) return accepted.push(r.body.ticket.id);
        } catch {
          // Connection refused or reset: A is gone.
        }
      }
      const r = await call(b.httpUrl, 'POST', '/api/v1/tickets', body);
      expect(r.status).toBe(201);
      accepted.push(r.body.ticket.id);
    };
    for (let i = 0; i < REPORTS; i += 10) {
      const batch = Array.from({ length: 10 }, (_, k) => report(i + k));
      if (i === REPORTS / 2) {
        await waitFor(() => receiver.requests.length >= 20, { intervalMs: 5, message: 'deliveries under way' });
        aDead = true;
        killedAt = Date.now();
        expect(await child.kill('SIGKILL')).toBe(null);
      }
      await Promise.all(batch);
    }
    expect(accepted).toHaveLength(REPORTS);

    // The SLA clock: another session holds its lock, within 30 s of the kill.
    await waitFor(async () => {
      const now = await slaHolder();
      return now.length === 1 && now[0] !== slaBefore[0];
    }, { timeoutMs: 30_000, message: 'B takes the SLA clock over' });
    const slaMovedAfter = Date.now() - killedAt;
    expect(slaMovedAfter).toBeLessThan(30_000);

    // Every accepted report is a ticket; a comment through B adds a second event to each.
    const tickets = (await call(b.httpUrl, 'GET', `/api/v1/tickets?limit=500`)).body.tickets as { id: number }[];
    const ids = new Set(tickets.map((t) => t.id));
    for (const id of accepted) expect(ids.has(id), `ticket ${id}`).toBe(true);
    for (const id of accepted.slice(0, 50)) expect((await call(b.httpUrl, 'POST', `/api/v1/tickets/${id}/comment`, { note: 'seen' })).status).toBe(200);

    const expected = (await db.all<{ id: number }>('SELECT id FROM ticket_event ORDER BY id')).map((r) => r.id);
    expect(expected.length).toBeGreaterThanOrEqual(REPORTS + 50);
    // Deliveries A had claimed when it died are claimed again once their lease ends.
    await waitFor(() => receiver.effective().length >= expected.length, { timeoutMs: 60_000, message: 'every event delivered' });
    const effective = receiver.effective();
    expect(effective.map((r) => r.eventId).sort((x, y) => x - y)).toEqual(expected);
    const byTicket = new Map<number, number[]>();
    for (const r of effective) byTicket.set(r.ticketId, [...(byTicket.get(r.ticketId) ?? []), r.eventId]);
    for (const [, order] of byTicket) expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(receiver.requests.every((r) => r.signed)).toBe(true);
  });
});
