import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Ticket } from '../core/index.ts';
import { verifyLink } from './links.ts';
import type { ActResult, TicketManager } from './manager.ts';

const CUSTOMER = { name: 'customer', role: 'customer-link' };
const Token = z.strictObject({ token: z.string().min(1).max(200) });
// What the forms send; a field a browser leaves empty arrives as ''.
const AcceptForm = z.strictObject({ by: z.string().trim().min(1, 'please give your name').max(200) });
const SurveyForm = z.strictObject({
  score: z.enum(['1', '2', '3', '4', '5'], 'please choose how satisfied you are (1 to 5)').transform(Number),
  nps: z.union([z.literal(''), z.enum(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']).transform(Number)]).optional().transform((v) => (v === '' ? undefined : v)),
  comment: z.string().trim().max(2000).optional().transform((v) => (v ? v : undefined)),
});

/**
 * The customer's pages behind a signed link: confirm the fix (`accept`) or answer the return visit
 * (`survey`). Plain HTML forms, no script, no account: the link is the credential, it expires, and
 * the ticket's state makes it single-use. Registered in its own plugin, so the form body parser it
 * adds serves these two routes and nothing under /api.
 */
export function registerSurveyPages(app: FastifyInstance, tickets: TicketManager, linkKey: Buffer, now: () => number): void {
  void app.register(async (child) => {
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    const open = async (raw: unknown, reply: FastifyReply): Promise<{ ticket: Ticket; purpose: 'accept' | 'survey'; token: string } | undefined> => {
      const token = Token.safeParse(raw).data?.token;
      const check = token !== undefined ? verifyLink(linkKey, token, now()) : ({ ok: false, reason: 'invalid' } as const);
      const ticket = check.ok ? await tickets.store.get(check.claim.ticketId) : undefined;
      if (!check.ok && check.reason === 'expired') {
        page(reply, 410, 'This link has expired', '<p>Please contact the service desk if you would still like to answer.</p>');
        return undefined;
      }
      if (!check.ok || !ticket || token === undefined) {
        page(reply, 403, 'This link is not valid', '<p>Please use the link exactly as you received it.</p>');
        return undefined;
      }
      const answered = check.claim.purpose === 'accept' ? ticket.acceptance !== null || ticket.status !== 'resolved' : ticket.survey !== null || !['resolved', 'accepted'].includes(ticket.status);
      if (answered) {
        page(reply, 409, 'Already answered', `<p>${check.claim.purpose === 'accept' ? 'This repair has already been confirmed' : 'This survey has already been answered'}, or the ticket has moved on. Thank you.</p>`);
        return undefined;
      }
      return { ticket, purpose: check.claim.purpose, token };
    };

    child.get('/survey/:token', { config: { access: 'public' } }, async (req, reply) => {
      const o = await open(req.params, reply);
      if (!o) return reply;
      return page(reply, 200, o.purpose === 'accept' ? 'Please confirm the repair' : 'How did we do?', form(o.ticket, o.purpose, o.token));
    });

    child.post('/survey/:token', { bodyLimit: 8192, config: { access: 'public' } }, async (req, reply) => {
      const o = await open(req.params, reply);
      if (!o) return reply;
      const body = req.body && typeof req.body === 'object' ? req.body : {};
      let r: ActResult;
      if (o.purpose === 'accept') {
        const f = AcceptForm.safeParse(body);
        if (!f.success) return page(reply, 400, 'Please confirm the repair', problems(f.error) + form(o.ticket, o.purpose, o.token));
        r = await tickets.act(o.ticket.id, { action: 'accept', by: f.data.by, via: 'link' }, CUSTOMER);
      } else {
        const f = SurveyForm.safeParse(body);
        if (!f.success) return page(reply, 400, 'How did we do?', problems(f.error) + form(o.ticket, o.purpose, o.token));
        r = await tickets.act(o.ticket.id, { action: 'survey', score: f.data.score, nps: f.data.nps, comment: f.data.comment, via: 'page' }, CUSTOMER);
      }
      if (!r.ok) return page(reply, 409, 'Already answered', `<p>${esc(r.message)}</p>`);
      const next = o.purpose === 'accept' ? (r.event.detail.link as { url: string } | undefined) : undefined;
      return page(reply, 200, 'Thank you', o.purpose === 'accept' ? `<p>Thank you for confirming the repair.</p>${next ? `<p><a href="${esc(next.url)}">Tell us how we did</a> (two questions).</p>` : ''}` : '<p>Thank you for your answer. It helps us serve you better.</p>');
    });
  });
}

function form(t: Ticket, purpose: 'accept' | 'survey', token: string): string {
  const action = `/survey/${encodeURIComponent(token)}`;
  const about = `<p>About: <strong>${esc(t.title)}</strong> (ticket ${t.id})</p>`;
  if (purpose === 'accept') {
    return `${about}<form method="post" action="${action}"><label>Your name <input name="by" required maxlength="200"></label><button type="submit">The repair is done</button></form>`;
  }
  const scores = [1, 2, 3, 4, 5].map((n) => `<label><input type="radio" name="score" value="${n}" required> ${n}</label>`).join(' ');
  const nps = ['', ...Array.from({ length: 11 }, (_, i) => String(i))].map((v) => `<option value="${v}">${v === '' ? '(no answer)' : v}</option>`).join('');
  return `${about}<form method="post" action="${action}">
<fieldset><legend>How satisfied are you with the service? (1 = not at all, 5 = very)</legend>${scores}</fieldset>
<label>How likely are you to recommend us, 0 to 10? <select name="nps">${nps}</select></label>
<label>Anything to add? <textarea name="comment" maxlength="2000" rows="4"></textarea></label>
<button type="submit">Send</button></form>`;
}

function problems(err: z.ZodError): string {
  return `<p role="alert" class="error">${err.issues.map((i) => esc(i.path.length ? i.message : 'please fill in the form')).join('; ')}</p>`;
}

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title>` +
        '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}label,fieldset{display:block;margin:1rem 0}.error{color:#b00}button{font-size:1rem;padding:.5rem 1rem}</style>' +
        `</head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    );
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}
