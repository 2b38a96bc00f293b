import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, SITE, asGateway, passwordHash } from '../helpers/pipeline.ts';
import { WebhookReceiver } from '../helpers/receiver.ts';
import { tempDir } from '../helpers/tmp.ts';

const SECRET = 'desk-shared-secret-for-the-sigkill-test';
const TOKEN = 'admin-token-for-the-sigkill-test';
const RULESET = `version: 1
name: hot
rules:
  - id: hot-bearing
    kind: threshold
    metric: bearing_temp
    fault: overheating
    params: { warning: 80, critical: 95 }
    alert: { for: 0, minSamples: 1 }
`;

describe('webhook delivery survives the server being killed with SIGKILL mid-delivery', () => {
  const tmp = tempDir();
  const receiver = new WebhookReceiver(SECRET, () => 200, 40);
  const procs: VigilProcess[] = [];
  let api: string;
  let configFile: string;
  let brokerPort: number;

  const startServer = async () => {
    const p = new VigilProcess(['server', '-c', configFile], { VIGIL_TOKEN: TOKEN }).start();
    procs.push(p);
    await p.waitForOutput(/server started/);
    return p;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    const httpPort = await freePort();
    brokerPort = await freePort();
    api = `http://127.0.0.1:${httpPort}`;
    writeFileSync(join(tmp.dir, 'ruleset.yaml'), RULESET);
    configFile = join(tmp.dir, 'server.yaml');
    writeFileSync(
      configFile,
      stringify({
        version: 1,
        dataDir: join(tmp.dir, 'server'),
        http: { host: '127.0.0.1', port: httpPort, apiToken: '${VIGIL_TOKEN}' },
        broker: { mode: 'embedded', host: '127.0.0.1', port: brokerPort, gateways: [{ gatewayId: GATEWAY_ID, site: SITE, passwordHash: passwordHash() }] },
        rules: { ruleset: join(tmp.dir, 'ruleset.yaml') },
        tickets: { webhooks: { initialBackoff: '50ms', maxBackoff: '300ms', timeout: '2s', concurrency: 2 } },
      }),
    );
  });

  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await receiver.stop();
    tmp.cleanup();
  });

  it('loses no event and keeps each ticket in order', async () => {
    let server = await startServer();
    const url = await receiver.start();
    await call('POST', '/api/v1/webhooks', { url, secret: SECRET });

    // Five hot bearings: five tickets, from findings the server's own rule engine raises.
    const gw = await asGateway(`mqtt://127.0.0.1:${brokerPort}`);
    await gw.send(['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5'].map((deviceId) => ({ deviceId, metric: 'bearing_temp' as const, value: 90, ts: Date.now() })));
    gw.client.end(true);
    const tickets = await waitFor(async () => {
      const b = await call('GET', '/api/v1/tickets');
      return b.total === 5 ? (b.tickets as { id: number }[]).map((t) => t.id) : undefined;
    }, { message: 'five tickets' });
    for (let round = 0; round < 12; round++) for (const id of tickets) await call('POST', `/api/v1/tickets/${id}/comment`, { note: `round ${round}` });

    // Killed while the receiver is still working through the backlog.
    await waitFor(() => receiver.requests.length >= 15, { intervalMs: 5, message: 'deliveries under way' });
    expect(await server.kill('SIGKILL')).toBe(null);
    const beforeRestart = receiver.effective().length;
    expect(beforeRestart).toBeLessThan(65);

    server = await startServer();
    const expected = (await Promise.all(tickets.map(async (id) => ((await call('GET', `/api/v1/tickets/${id}/history`)).events as { id: number }[]).map((e) => e.id)))).flat();
    expect(expected).toHaveLength(5 * 13);
    await waitFor(() => receiver.effective().length >= expected.length, { timeoutMs: 30_000, message: 'every event delivered after the restart' });

    const effective = receiver.effective();
    expect(effective.map((r) => r.eventId).sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    for (const id of tickets) {
      const order = effective.filter((r) => r.ticketId === id).map((r) => r.eventId);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(receiver.requests.every((r) => r.signed)).toBe(true);
    await waitFor(async () => (await call('GET', '/api/v1/webhooks')).outbox.pending === 0, { message: 'outbox empty' });
    expect(await server.kill('SIGTERM')).toBe(0);
  });
});
