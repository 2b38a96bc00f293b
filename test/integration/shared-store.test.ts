import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCKS, PostgresSql } from '../../core/index.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { WebhookReceiver } from '../helpers/receiver.ts';
import { tempDir } from '../helpers/tmp.ts';

const SECRET = 'shared-store-webhook-secret-0123';

// Two servers on one PostgreSQL, as a fleet runs them behind a load balancer: one set of tickets,
// one delivery queue, one SLA clock, and each server's live stream shows the other's changes.
describe('two servers on one PostgreSQL', () => {
  const tmp = tempDir();
  let url: string;
  let a: ServerHandle;
  let b: ServerHandle;
  let db: PostgresSql;
  const receiver = new WebhookReceiver(SECRET);

  beforeAll(async () => {
    url = await freshDatabase('shared');
    const tickets = { slaCheckEvery: '1s', webhooks: { concurrency: 8, initialBackoff: '50ms', maxBackoff: '500ms' } };
    a = await startServer({ dataDir: `${tmp.dir}/a`, database: url, tickets });
    b = await startServer({ dataDir: `${tmp.dir}/b`, database: url, tickets });
    db = new PostgresSql({ url, pool: 2 });
  });
  afterAll(async () => {
    await Promise.all([a?.server.stop(), b?.server.stop(), receiver.stop()]);
    await db?.close();
    tmp.cleanup();
  });

  it('shows a change made through one server on the other one’s live stream within a second', async () => {
    const t = (await a.server.tickets.handleFinding(bearingFinding('pump-live')))!;
    const ac = new AbortController();
    const res = await fetch(`${a.httpUrl}/api/v1/tickets/stream`, { signal: ac.signal });
    const reader = res.body!.getReader();
    // The stream is open once its first bytes (the replay of what came before) arrive.
    await reader.read();
    const started = Date.now();
    const ack = await fetch(`${b.httpUrl}/api/v1/tickets/${t.id}/acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(ack.status).toBe(200);
    let text = '';
    while (!/event: ticket\.acknowledged\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const took = Date.now() - started;
    ac.abort();
    expect(text).toMatch(new RegExp(`event: ticket\\.acknowledged\\ndata: .*"ticketId":${t.id}`));
    expect(took).toBeLessThan(1000);
  });

  it('refuses an action decided on a stale version with 409 and changes nothing', async () => {
    const t = (await b.server.tickets.handleFinding(bearingFinding('pump-stale')))!;
    const seen = (await (await fetch(`${a.httpUrl}/api/v1/tickets/${t.id}`)).json()) as { version: number };
    const post = (srv: ServerHandle, action: string, body: Record<string, unknown>) => fetch(`${srv.httpUrl}/api/v1/tickets/${t.id}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(b, 'assign', { assignee: 'tech-1', version: seen.version })).status).toBe(200);
    const before = await a.server.tickets.store.get(t.id);
    const stale = await post(a, 'assign', { assignee: 'tech-2', version: seen.version });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: 'conflict', message: expect.stringMatching(/changed since version/) });
    expect(await a.server.tickets.store.get(t.id)).toEqual(before);
    expect(before).toMatchObject({ assignee: 'tech-1', version: seen.version + 1 });
  });

  it('under 10,000 findings for 100 devices spread over both opens exactly 100 tickets and delivers every event once, in order per ticket', { timeout: 240_000 }, async () => {
    const hook = await receiver.start();
    const sub = await fetch(`${a.httpUrl}/api/v1/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hook, secret: SECRET }) });
    expect(sub.status).toBe(201);
    const devices = Array.from({ length: 100 }, (_, i) => `flood-${i}`);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const device = devices[(i * 37) % 100]!;
      const severity = i % 5 === 0 ? 'critical' : 'warning';
      // The same device's findings reach both servers, as they would behind a load balancer.
      work.push((i % 2 ? a : b).server.tickets.handleFinding(bearingFinding(device, { severity, event: i % 3 === 0 ? 'escalate' : 'fire', ruleId: `rule-${i % 4}` })));
    }
    await Promise.all(work);
    const open = await db.all<{ device_id: string; n: number }>("SELECT device_id, COUNT(*) AS n FROM ticket WHERE device_id LIKE 'flood-%' AND status != 'closed' GROUP BY device_id");
    expect(open).toHaveLength(100);
    expect(open.every((r) => r.n === 1)).toBe(true);

    // Every event of those tickets that goes to subscriptions, delivered once by its idempotency key.
    await waitFor(async () => (await a.server.tickets.outbox.counts()).pending === 0, { timeoutMs: 120_000, message: 'deliveries drained' });
    const events = await db.all<{ id: number; ticket_id: number }>(
      "SELECT e.id, e.ticket_id FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id JOIN delivery d ON d.event_id = e.id WHERE t.device_id LIKE 'flood-%' ORDER BY e.id",
    );
    const got = receiver.requests.filter((r) => r.answered === 200);
    const keys = got.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(got.map((r) => r.eventId))).toEqual(new Set(events.map((e) => e.id)));
    expect(got.every((r) => r.signed)).toBe(true);
    // In order per ticket, whichever server sent each one.
    const last = new Map<number, number>();
    for (const r of got) {
      expect(r.eventId).toBeGreaterThan(last.get(r.ticketId) ?? 0);
      last.set(r.ticketId, r.eventId);
    }
    const senders = await db.all<{ n: number }>("SELECT COUNT(DISTINCT claimed_by) AS n FROM delivery WHERE status = 'delivered'");
    expect(senders[0]!.n).toBe(0);
  });

  it('runs the SLA clock on one server only', async () => {
    const held = await db.all<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted", [LOCKS.slaClock]);
    expect(held).toHaveLength(1);
  });
});
