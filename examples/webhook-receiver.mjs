// A service desk's end of Vigil's ticket webhooks, in plain Node.js (no dependencies):
//   VIGIL_WEBHOOK_SECRET=... node examples/webhook-receiver.mjs
// It checks each request's signature, acts on each event once (by its idempotency key) and prints it.
// With VIGIL_URL and VIGIL_SUBSCRIPTION_ID set it also acknowledges new tickets back to Vigil through
// the signed inbound webhook, as a desk system syncing its status would.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.VIGIL_WEBHOOK_SECRET;
if (!secret) {
  console.error('set VIGIL_WEBHOOK_SECRET to the secret of the subscription');
  process.exit(2);
}
const port = Number(process.env.PORT ?? 9000);
// Keep these keys in your own database in production: a restart must not forget what was handled.
const handled = new Set();

function signature(body, atMs = Date.now()) {
  const t = Math.floor(atMs / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

function verified(header, body) {
  const parts = Object.fromEntries(String(header ?? '').split(',').map((p) => p.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(Date.now() / 1000 - t) > 300) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const got = Buffer.from(parts.v1, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

async function acknowledge(ticket) {
  const { VIGIL_URL: url, VIGIL_SUBSCRIPTION_ID: sub } = process.env;
  if (!url || !sub) return;
  const body = JSON.stringify({ ticketId: ticket.id, action: 'acknowledge', actor: 'example-desk', externalRef: `DESK-${ticket.id}`, note: 'received by the desk' });
  const res = await fetch(`${url}/api/v1/webhooks/${sub}/inbound`, { method: 'POST', headers: { 'content-type': 'application/json', 'vigil-signature': signature(body) }, body });
  console.log(JSON.stringify({ acknowledged: ticket.id, status: res.status }));
}

const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  if (req.method !== 'POST' || !verified(req.headers['vigil-signature'], body)) {
    res.writeHead(401).end();
    return;
  }
  const key = req.headers['idempotency-key'];
  if (handled.has(key)) {
    res.writeHead(200).end('duplicate'); // a retry of something already handled: answer 2xx, do nothing
    return;
  }
  const event = JSON.parse(body);
  if (event.type === 'kpi.below_target') {
    // Sent only to subscriptions that name it: a desk figure fell below target for a site or group.
    console.log(JSON.stringify({ key, type: event.type, ...event.detail }));
    handled.add(key);
    res.writeHead(204).end();
    return;
  }
  const t = event.ticket;
  console.log(JSON.stringify({ key, type: event.type, ticket: t.id, source: t.source, status: t.status, priority: t.priority, title: t.title, respondBy: new Date(t.respondBy).toISOString() }));
  // A visit planned or recorded: what a dispatch board would show.
  if (event.detail.visit) console.log(JSON.stringify({ ticket: t.id, visit: event.detail.visit }));
  // After resolution and acceptance the event carries the customer's signed link (confirm the fix, or
  // the return visit's survey): this is where a desk would send it by SMS or mail.
  if (event.detail.link) console.log(JSON.stringify({ ticket: t.id, sendToCustomer: event.detail.link }));
  handled.add(key);
  res.writeHead(204).end();
  if (event.type === 'ticket.created') acknowledge(t).catch((err) => console.error(String(err)));
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}/hooks/vigil`));
