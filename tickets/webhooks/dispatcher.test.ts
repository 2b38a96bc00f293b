import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteSql, createRegistry, openDatabase, parseConfig, silentLogger, systemClock } from '../../core/index.ts';
import { WebhookReceiver } from '../../test/helpers/receiver.ts';
import { WebhookConfigSchema, WebhookDispatcher } from './dispatcher.ts';
import { WebhookOutbox } from './outbox.ts';

const SECRET = 'dispatcher-test-secret-0123456789';

describe('webhook dispatcher', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.stop();
  });

  async function setup(behaviour: (n: number) => number, config: Record<string, unknown>) {
    const receiver = new WebhookReceiver(SECRET, behaviour);
    receivers.push(receiver);
    const url = await receiver.start();
    const outbox = await WebhookOutbox.open(new SqliteSql(openDatabase(':memory:')));
    await outbox.createSubscription({ url, events: ['*'], secret: SECRET, description: '', createdAt: 0, createdBy: 't' });
    const d = new WebhookDispatcher(parseConfig(WebhookConfigSchema, config, {}), { outbox, clock: systemClock, log: silentLogger(), registry: createRegistry() });
    const payload = (ticketId: number) => JSON.stringify({ type: 'ticket.created', ticket: { id: ticketId } });
    return { receiver, outbox, d, payload };
  }

  it('retries a failing receiver with growing delays, then dead-letters after maxAttempts', async () => {
    const at: number[] = [];
    const { outbox, d, payload, receiver } = await setup(() => (at.push(Date.now()), 503), { maxAttempts: 5, initialBackoff: '40ms', maxBackoff: '1s' });
    await outbox.enqueue({ id: 1, type: 'ticket.created', ticketId: 1 }, payload(1), Date.now());
    await d.start();
    while ((await outbox.counts()).dead === 0) await new Promise((r) => setTimeout(r, 10));
    await d.stop();
    expect(receiver.requests).toHaveLength(5);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Full jitter on half the delay: retry n waits between 20·2ⁿ and 40·2ⁿ ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[3]).toBeGreaterThanOrEqual(150);
    expect(gaps[3]!).toBeGreaterThan(gaps[0]!);
    expect((await outbox.deliveries({ status: 'dead', limit: 5, offset: 0 })).deliveries[0]).toMatchObject({ attempts: 5, lastError: 'HTTP 503' });
  });

  it('holds a ticket’s later events until the earlier one is delivered, while other tickets go on', async () => {
    const { outbox, d, payload, receiver } = await setup((n) => (n < 3 ? 500 : 200), { initialBackoff: '30ms', maxBackoff: '60ms', concurrency: 4 });
    for (const [id, ticket] of [[1, 1], [2, 1], [3, 2], [4, 1], [5, 2]] as const) await outbox.enqueue({ id, type: 'ticket.created', ticketId: ticket }, payload(ticket), Date.now());
    await d.start();
    while (await d.busy()) await new Promise((r) => setTimeout(r, 10));
    await d.stop();
    const firstOk = receiver.effective().map((r) => r.eventId);
    expect(firstOk.filter((id) => [1, 2, 4].includes(id))).toEqual([1, 2, 4]);
    expect(firstOk.filter((id) => [3, 5].includes(id))).toEqual([3, 5]);
    expect(await outbox.counts()).toMatchObject({ pending: 0, dead: 0 });
  });

  /** A receiver that answers every request with one status and headers. */
  async function answering(status: number, headers: Record<string, string> = {}, maxAttempts = 1) {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(status, headers).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const outbox = await WebhookOutbox.open(new SqliteSql(openDatabase(':memory:')));
    await outbox.createSubscription({ url, events: ['*'], secret: SECRET, description: '', createdAt: 0, createdBy: 't' });
    const registry = createRegistry();
    const d = new WebhookDispatcher(parseConfig(WebhookConfigSchema, { maxAttempts, initialBackoff: '10ms', maxBackoff: '1m' }, {}), { outbox, clock: systemClock, log: silentLogger(), registry });
    await outbox.enqueue({ id: 1, type: 'ticket.created', ticketId: 1 }, '{}', Date.now());
    const t0 = Date.now();
    await d.start();
    // Until the answer to the first attempt is recorded.
    while (requests === 0 || (await outbox.deliveries({ limit: 1, offset: 0 })).deliveries[0]!.lastError === null) await new Promise((r) => setTimeout(r, 10));
    await d.stop();
    server.close();
    const [row] = (await outbox.deliveries({ limit: 1, offset: 0 })).deliveries;
    return { row: row!, t0, metrics: await registry.metrics(), outbox };
  }

  it('keeps a delivery the receiver refuses for credentials or address, and tries it again slowly, never dead-lettering it', async () => {
    for (const status of [401, 403, 404]) {
      const { row, t0, metrics } = await answering(status);
      expect(row).toMatchObject({ status: 'pending', attempts: 0, lastError: `HTTP ${status}` });
      expect(row.nextAt - t0).toBeGreaterThanOrEqual(29_000);
      expect(metrics).toMatch(/vigil_delivery_attempts_total\{output="webhook",outcome="auth"\} 1/);
    }
  });

  it('waits as long as Retry-After says, in seconds or as a date', async () => {
    const inSeconds = await answering(503, { 'retry-after': '20' }, 3);
    expect(inSeconds.row).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503' });
    expect(inSeconds.row.nextAt - inSeconds.t0).toBeGreaterThanOrEqual(19_000);
    const asDate = await answering(429, { 'retry-after': new Date(Date.now() + 40_000).toUTCString() }, 3);
    expect(asDate.row).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 429' });
    expect(asDate.row.nextAt - asDate.t0).toBeGreaterThanOrEqual(38_000);
    expect(asDate.metrics).toMatch(/vigil_delivery_attempts_total\{output="webhook",outcome="retry"\} 1/);
  });

  it('dead-letters at once what the receiver refuses for good', async () => {
    const { row, metrics } = await answering(422, {}, 5);
    expect(row).toMatchObject({ status: 'dead', attempts: 1, lastError: 'HTTP 422' });
    expect(metrics).toMatch(/vigil_delivery_attempts_total\{output="webhook",outcome="drop"\} 1/);
  });
});
