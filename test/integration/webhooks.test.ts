import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { WebhookReceiver } from '../helpers/receiver.ts';
import { tempDir } from '../helpers/tmp.ts';

const SECRET = 'desk-shared-secret-for-the-webhook-test';

const finding = bearingFinding;

describe.each(ENGINES)('webhook delivery to a receiver that fails, hangs and goes down (%s)', (engine) => {
  const tmp = tempDir();
  let srv: ServerHandle;
  const receiver = new WebhookReceiver(SECRET);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${srv.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    srv = await startServer({
      database: engine === 'postgres' ? await freshDatabase() : undefined,
      dataDir: `${tmp.dir}/server`,
      tickets: { webhooks: { initialBackoff: '50ms', maxBackoff: '500ms', timeout: '300ms', maxAttempts: 40, concurrency: 3 } },
    });
  });
  afterAll(async () => {
    await srv?.server.stop();
    await receiver.stop();
    tmp.cleanup();
  });

  it('delivers every event exactly once in effect, in order per ticket, signed', async () => {
    // 500s first, then three requests left without an answer (timeouts), then fine.
    receiver.behaviour = (n) => (n < 6 ? 500 : n < 9 ? 'hang' : 200);
    const url = await receiver.start();
    const sub = await post('/api/v1/webhooks', { url, events: ['*'], secret: SECRET, description: 'desk' });
    expect(sub.status).toBe(201);

    const tickets: number[] = [];
    for (const d of ['fan-1', 'fan-2', 'fan-3', 'fan-4']) tickets.push((await srv.server.tickets.handleFinding(finding(d)))!.id);
    const comment = async (round: number) => {
      for (const id of tickets) expect((await post(`/api/v1/tickets/${id}/comment`, { note: `round ${round}` })).status).toBe(200);
    };
    for (let round = 0; round < 3; round++) await comment(round);
    await waitFor(() => receiver.requests.length >= 12, { message: 'the failing and hanging requests' });

    // The desk goes down for a while; changes go on and wait in the outbox.
    await receiver.stop();
    for (let round = 3; round < 6; round++) await comment(round);
    await new Promise((r) => setTimeout(r, 1500));
    const { pending } = await srv.server.tickets.outbox.counts();
    expect(pending).toBeGreaterThan(0);
    await receiver.start();

    const expected = (await Promise.all(tickets.map((id) => srv.server.tickets.store.history(id)))).flatMap((h) => h.map((e) => e.id));
    expect(expected).toHaveLength(4 * 7);
    await waitFor(async () => (await srv.server.tickets.outbox.counts()).pending === 0, { timeoutMs: 30_000, message: 'outbox drained' });

    const effective = receiver.effective();
    expect(effective.map((r) => r.eventId).sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    for (const id of tickets) {
      const order = effective.filter((r) => r.ticketId === id).map((r) => r.eventId);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(effective.find((r) => r.ticketId === id)!.type).toBe('ticket.created');
    }
    expect(receiver.requests.every((r) => r.signed)).toBe(true);
    // The hung requests reached the receiver and were sent again with the same key.
    expect(receiver.requests.length).toBeGreaterThan(effective.length);
    expect(await srv.server.tickets.outbox.counts()).toMatchObject({ pending: 0, dead: 0 });
    expect((await srv.server.tickets.outbox.deliveries({ status: 'delivered', limit: 1, offset: 0 })).total).toBe(28);
    expect(await (await fetch(`${srv.httpUrl}/metrics`)).text()).toMatch(/vigil_webhook_attempts_total\{result="retry"\} [1-9]/);
  });

  it('dead-letters what the receiver refuses for good, shows it, and replays it with the same key', async () => {
    const refusing = new WebhookReceiver(SECRET, () => 422);
    const url = await refusing.start();
    const sub = await post('/api/v1/webhooks', { url, events: ['ticket.created'], secret: SECRET });
    const id = (await srv.server.tickets.handleFinding(finding('pump-9')))!.id;
    await waitFor(async () => (await srv.server.tickets.outbox.counts()).dead === 1, { message: 'dead letter' });
    const dead = (await (await fetch(`${srv.httpUrl}/api/v1/webhooks/deliveries?status=dead`)).json()) as { deliveries: { id: number; ticketId: number; attempts: number; lastError: string; subscriptionId: number }[] };
    expect(dead.deliveries).toEqual([expect.objectContaining({ ticketId: id, attempts: 1, lastError: 'HTTP 422', subscriptionId: sub.body.id })]);

    refusing.behaviour = () => 200;
    expect((await post(`/api/v1/webhooks/deliveries/${dead.deliveries[0]!.id}/replay`, {})).status).toBe(200);
    await waitFor(() => refusing.effective().length === 1, { message: 'replayed delivery' });
    expect(refusing.requests.map((r) => r.key)).toEqual([refusing.requests[0]!.key, refusing.requests[0]!.key]);
    expect((await srv.server.tickets.outbox.counts()).dead).toBe(0);
    expect((await post('/api/v1/webhooks/deliveries/999/replay', {})).status).toBe(404);
    await refusing.stop();
  });

  it('drives the example receiver in examples/, which acknowledges back through the inbound webhook', async () => {
    const script = fileURLToPath(new URL('../../examples/webhook-receiver.mjs', import.meta.url));
    const secret = 'example-receiver-secret-0123456789';
    const port = await freePort();
    const sub = await post('/api/v1/webhooks', { url: `http://127.0.0.1:${port}/hooks/vigil`, events: ['ticket.created'], secret });
    let out = '';
    const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port), VIGIL_WEBHOOK_SECRET: secret, VIGIL_URL: srv.httpUrl, VIGIL_SUBSCRIPTION_ID: String(sub.body.id) } });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('listening on'), { message: 'example receiver listening' });
      const id = (await srv.server.tickets.handleFinding(finding('press-2')))!.id;
      await waitFor(async () => (await srv.server.tickets.store.get(id))?.status === 'acknowledged', { message: "acknowledged by the example desk" });
      expect(out).toMatch(new RegExp(`"type":"ticket.created","ticket":${id}`));
      expect(await srv.server.tickets.store.get(id)).toMatchObject({ externalRef: `DESK-${id}` });
    } finally {
      child.kill();
    }
  });
});
