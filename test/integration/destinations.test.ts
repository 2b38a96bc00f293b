import { type Server, createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';
import { verify } from '../../tickets/index.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { SmtpRelay } from '../helpers/smtp.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Collects what is POSTed to it: a chat service's incoming webhook, an event router. */
async function collector(): Promise<{ url: string; posts: { path: string; type: string; body: unknown; raw: string; signature: string }[]; server: Server }> {
  const posts: { path: string; type: string; body: unknown; raw: string; signature: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: JSON.parse(body) as unknown, raw: body, signature: String(req.headers['vigil-signature']) });
      // `/refuse` refuses everything for good, so its deliveries become dead letters at once.
      res.writeHead(req.url === '/refuse' ? 422 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, posts, server };
}

describe.each(ENGINES)('ticket destinations of the config file, through the server (%s)', (engine) => {
  const tmp = tempDir();
  const relay = new SmtpRelay();
  let http: Awaited<ReturnType<typeof collector>>;
  let srv: ServerHandle;

  beforeAll(async () => {
    await relay.start();
    http = await collector();
    srv = await startServer({
      database: engine === 'postgres' ? await freshDatabase() : undefined,
      dataDir: `${tmp.dir}/server`,
      env: { SMTP_PASSWORD: relay.password, CHAT_URL: `${http.url}/chat`, ROUTER_SECRET: 'router-secret-0123456789abcdef' },
      tickets: {
        links: { baseUrl: 'https://vigil.plant-a.example' },
        webhooks: { initialBackoff: '50ms', maxBackoff: '500ms' },
        destinations: [
          { kind: 'email', name: 'desk-mail', host: '127.0.0.1', port: relay.port, ca: relay.ca, user: relay.user, password: '${SMTP_PASSWORD}', from: 'vigil@plant-a.example', to: ['desk@service.example'], events: ['ticket.created'] },
          { kind: 'email', name: 'urgent-mail', host: '127.0.0.1', port: relay.port, ca: relay.ca, user: relay.user, password: '${SMTP_PASSWORD}', from: 'vigil@plant-a.example', to: ['urgent@service.example'], events: ['ticket.created'], priorities: ['P1', 'P2'] },
          { kind: 'chat', name: 'ops-channel', url: '${CHAT_URL}', style: 'teams', events: ['ticket.created', 'ticket.commented'], sites: ['plant-a'] },
          { kind: 'webhook', name: 'event-router', url: `${http.url}/router`, secret: '${ROUTER_SECRET}', format: 'cloudevents', sites: ['plant-b'] },
        ],
      },
    });
  });
  afterAll(async () => {
    await srv?.server.stop();
    await relay.stop();
    http?.server.close();
    tmp.cleanup();
  });

  it('mails the desk over STARTTLS with a login, posts to chat, and sends each only what its filters let through', async () => {
    const p3 = (await srv.server.tickets.handleFinding(bearingFinding('fan-1')))!;
    const p2 = (await srv.server.tickets.handleFinding(bearingFinding('fan-2', { severity: 'critical' })))!;
    expect([p3.priority, p2.priority]).toEqual(['P3', 'P2']);
    await waitFor(() => relay.messages().length >= 3 && http.posts.length >= 2, { timeoutMs: 30_000, message: 'mails and chat posts' });
    const mails = relay.messages();
    expect(mails.every((m) => m.tls && m.authenticated)).toBe(true);
    // desk-mail takes both tickets, urgent-mail only the P2 one.
    expect(mails.filter((m) => m.to.includes('desk@service.example'))).toHaveLength(2);
    const urgent = mails.filter((m) => m.to.includes('urgent@service.example'));
    expect(urgent).toHaveLength(1);
    const mail = urgent[0]!;
    expect(mail.messageId).toMatch(/^<vigil-event-\d+@vigil>$/);
    expect(mail.data).toMatch(/^Subject: \[P2\] .*fan-2.*: created$/m);
    expect(mail.data).toMatch(/Content-Type: text\/plain/);
    expect(mail.data).toMatch(/Content-Type: text\/html/);
    // The parts are quoted-printable: soft line breaks and =XX escapes.
    const text = mail.data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    expect(text).toContain(`https://vigil.plant-a.example/console/#/tickets/${p2.id}`);
    expect(text).toContain(new Date(p2.respondBy).toISOString().replace('.000Z', 'Z'));
    expect(text).toContain(p2.suggestedAction);

    const chat = http.posts.filter((p) => p.path === '/chat');
    expect(chat.map((p) => (p.body as { title: string }).title).sort()).toEqual([`[P2] ${p2.title}: created`, `[P3] ${p3.title}: created`]);
    // The event router wants plant-b only.
    expect(http.posts.filter((p) => p.path === '/router')).toEqual([]);

    // The relay has a mail before the server hears its 250 and records it: wait for the record.
    const list = await waitFor(async () => {
      const l = (await (await fetch(`${srv.httpUrl}/api/v1/destinations`)).json()) as { destinations: { name: string; pending?: number }[] };
      return l.destinations.find((d) => d.name === 'desk-mail')?.pending === 0 ? l : undefined;
    }, { message: 'desk-mail delivery recorded' });
    expect(list).toMatchObject({ destinations: [{ name: 'desk-mail', kind: 'email', pending: 0, dead: 0 }, { name: 'urgent-mail', priorities: ['P1', 'P2'] }, { name: 'ops-channel', kind: 'chat' }, { name: 'event-router', kind: 'webhook', sites: ['plant-b'] }] });
    expect(JSON.stringify(list)).not.toContain(relay.password);
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_delivery_attempts_total\{output="email",outcome="ok"\} 3/);
    expect(metrics).toMatch(/vigil_delivery_attempts_total\{output="chat",outcome="ok"\} 2/);
    for (const output of ['webhook', 'email', 'chat']) expect(metrics).toContain(`vigil_delivery_queue{output="${output}"} 0`);
  });

  it('keeps a mail the relay refuses for good in the dead letters, and sends it again on replay', async () => {
    relay.plan({ sequence: Array(relay.messages().length).fill('ok').concat(['permanent']), then: 'ok' });
    await srv.server.tickets.handleFinding(bearingFinding('fan-3'));
    await waitFor(async () => ((await (await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries?status=dead`)).json()) as { total: number }).total === 1, { timeoutMs: 20_000, message: 'dead letter' });
    const dead = (await (await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries?status=dead`)).json()) as { deliveries: { id: number; destination: string; lastError: string }[] };
    expect(dead.deliveries[0]).toMatchObject({ destination: 'desk-mail', lastError: expect.stringMatching(/^SMTP 550/) });
    // Its id does not reach it through the webhook subscriptions' endpoints, nor do theirs list it.
    const viaWebhooks = await fetch(`${srv.httpUrl}/api/v1/webhooks/deliveries/${dead.deliveries[0]!.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(viaWebhooks.status).toBe(404);
    expect(((await (await fetch(`${srv.httpUrl}/api/v1/webhooks/deliveries?status=dead`)).json()) as { total: number }).total).toBe(0);
    const sent = relay.messages().length;
    const replay = await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries/${dead.deliveries[0]!.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(replay.status).toBe(200);
    await waitFor(() => relay.messages().length > sent, { timeoutMs: 20_000, message: 'the replayed mail' });
    const again = relay.messages().slice(sent);
    expect(again.map((m) => m.mode)).toEqual(['ok']);
    expect(again[0]!.messageId).toBe(relay.messages().find((m) => m.mode === 'permanent')!.messageId);
    // A webhook subscription's dead letter cannot be replayed here, nor an id that does not exist.
    expect((await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries/999999/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('sends a subscription made through the API as CloudEvents when it asks, signed over what is sent', async () => {
    const secret = 'cloudevents-subscriber-secret-0123';
    const res = await fetch(`${srv.httpUrl}/api/v1/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${http.url}/ce`, secret, format: 'cloudevents' }) });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ format: 'cloudevents' });
    const t = (await srv.server.tickets.handleFinding(bearingFinding('fan-4')))!;
    await waitFor(() => http.posts.some((p) => p.path === '/ce'), { timeoutMs: 20_000, message: 'the CloudEvent' });
    const ce = http.posts.find((p) => p.path === '/ce')!;
    expect(ce.type).toMatch(/^application\/cloudevents\+json/);
    expect(ce.body).toMatchObject({ specversion: '1.0', type: 'io.vigil.ticket.created', source: 'urn:vigil:tickets', subject: `tickets/${t.id}`, data: { type: 'ticket.created', ticket: { id: t.id } } });
    expect(verify(secret, ce.signature, ce.raw, Date.now())).toEqual({ ok: true });
    // A subscription's dead letter is not a destination's: no name reaches it, no replay either.
    const refusing = (await (await fetch(`${srv.httpUrl}/api/v1/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${http.url}/refuse`, events: ['ticket.created'] }) })).json()) as { id: number };
    await srv.server.tickets.handleFinding(bearingFinding('fan-5'));
    const deadOf = async () => ((await (await fetch(`${srv.httpUrl}/api/v1/webhooks/deliveries?status=dead&subscription=${refusing.id}`)).json()) as { deliveries: { id: number }[] }).deliveries;
    await waitFor(async () => (await deadOf()).length === 1, { timeoutMs: 20_000, message: 'the refused subscription delivery' });
    const sub = { id: (await deadOf())[0]!.id, subscriptionId: refusing.id };
    for (const name of [`webhook:${sub.subscriptionId}`, `../webhook:${sub.subscriptionId}`, '%', '']) {
      const r = (await (await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries?status=dead&destination=${encodeURIComponent(name)}`)).json()) as { total: number };
      expect(r.total, name).toBe(0);
    }
    expect((await fetch(`${srv.httpUrl}/api/v1/destinations/deliveries/${sub.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
    // Where it belongs, it is replayable.
    expect((await fetch(`${srv.httpUrl}/api/v1/webhooks/deliveries/${sub.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
  });
});
