import { describe, expect, it } from 'vitest';
import { type KpiWebhookPayload, type WebhookPayload, parseConfig } from '../../core/index.ts';
import { TicketsConfigSchema } from '../manager.ts';
import { chatBody } from './chat/index.ts';
import { summarise } from './describe.ts';
import { classifySmtp, mailBodies } from './email/index.ts';
import { wants } from './filter.ts';
import { DestinationEntrySchema } from './registry.ts';
import { encodeWebhook } from './webhook/index.ts';

const ticket = { id: 42, site: 'plant-a', deviceId: 'fan-2', title: 'Over-temperature on fan-2 at plant-a', status: 'open', priority: 'P1', respondBy: Date.UTC(2026, 11, 1, 9), resolveBy: Date.UTC(2026, 11, 1, 16), suggestedAction: 'Check the <fan> & filter' } as unknown as WebhookPayload['ticket'];
const created: WebhookPayload = { id: 'vigil-event-7', type: 'ticket.created', at: '2026-12-01T08:00:00.000Z', actor: { name: 'rule-engine', role: 'system' }, detail: {}, ticket };
const kpi: KpiWebhookPayload = { id: 'vigil-kpi-3', type: 'kpi.below_target', at: '2026-12-01T08:00:00.000Z', detail: { groupBy: 'site', group: 'plant-b', period: '2026-12', kpi: 'firstTimeFix', value: 0.61, target: 0.8, tickets: 12 } };
const out = (event: WebhookPayload | KpiWebhookPayload) => ({ idempotencyKey: event.id, deliveryId: 1, body: JSON.stringify(event), event });

describe('ticket destinations', () => {
  it('filters by event type, priority and site; `*` leaves out KPI events, which carry no priority', () => {
    expect(wants({ events: ['*'] }, created)).toBe(true);
    expect(wants({ events: ['*'] }, kpi)).toBe(false);
    expect(wants({ events: ['kpi.below_target'] }, kpi)).toBe(true);
    expect(wants({ events: ['ticket.resolved'] }, created)).toBe(false);
    expect(wants({ events: ['*'], priorities: ['P2', 'P3'] }, created)).toBe(false);
    expect(wants({ events: ['*'], priorities: ['P1'], sites: ['plant-a'] }, created)).toBe(true);
    expect(wants({ events: ['*'], sites: ['plant-b'] }, created)).toBe(false);
    expect(wants({ events: ['kpi.below_target'], sites: ['plant-b'] }, kpi)).toBe(true);
    expect(wants({ events: ['kpi.below_target'], priorities: ['P1'] }, kpi)).toBe(false);
    expect(wants({ events: ['*'], sites: ['plant-a'] }, { ...created, ticket: { ...ticket, site: null } as unknown as WebhookPayload['ticket'] })).toBe(false);
  });

  it('sends the event unchanged by default, or as a CloudEvents 1.0 structured event', () => {
    expect(encodeWebhook('vigil', out(created))).toEqual({ body: JSON.stringify(created), contentType: 'application/json' });
    const ce = encodeWebhook('cloudevents', out(created));
    expect(ce.contentType).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(ce.body)).toEqual({ specversion: '1.0', id: 'vigil-event-7', source: 'urn:vigil:tickets', type: 'io.vigil.ticket.created', time: created.at, subject: 'tickets/42', datacontenttype: 'application/json', data: created });
    expect(JSON.parse(encodeWebhook('cloudevents', out(kpi)).body)).toMatchObject({ type: 'io.vigil.kpi.below_target', subject: 'kpi/site/plant-b/firstTimeFix' });
  });

  it('writes a mail a person can act on: headline, deadlines, suggested action, console link, HTML escaped', () => {
    const m = mailBodies(summarise(created, 'https://vigil.example/'));
    expect(m.subject).toBe('[P1] Over-temperature on fan-2 at plant-a: created');
    expect(m.text).toMatch(/^Respond by: +2026-12-01T09:00:00Z$/m);
    expect(m.text).toMatch(/^Resolve by: +2026-12-01T16:00:00Z$/m);
    expect(m.text).toContain('Suggested action: Check the <fan> & filter');
    expect(m.text).toContain('Open in Vigil: https://vigil.example/console/#/tickets/42');
    expect(m.html).toContain('Check the &lt;fan&gt; &amp; filter');
    expect(m.html).not.toContain('<fan>');
    expect(mailBodies(summarise(kpi, undefined)).subject).toBe('KPI below target: firstTimeFix for site plant-b in 2026-12');
  });

  it('shapes chat messages for Slack-style and Teams-style incoming webhooks', () => {
    const s = summarise(created, 'https://vigil.example');
    const slack = chatBody('slack', s) as { text: string; blocks: { text?: { text: string } }[] };
    expect(slack.text).toBe('[P1] Over-temperature on fan-2 at plant-a: created');
    expect(slack.blocks[0]!.text!.text).toBe('*<https://vigil.example/console/#/tickets/42|[P1] Over-temperature on fan-2 at plant-a: created>*');
    expect(JSON.stringify(slack)).toContain('Check the &lt;fan&gt; &amp; filter');
    const teams = chatBody('teams', s) as Record<string, unknown>;
    expect(teams).toMatchObject({ '@type': 'MessageCard', themeColor: 'd13438', title: s.headline });
    expect(JSON.stringify(teams)).toContain('"uri":"https://vigil.example/console/#/tickets/42"');
  });

  it('reads SMTP answers as every output reads HTTP ones', () => {
    expect(classifySmtp({ responseCode: 451, response: '451 4.3.0 try later' }).kind).toBe('retry');
    expect(classifySmtp({ responseCode: 550, response: '550 5.7.1 refused' }).kind).toBe('drop');
    expect(classifySmtp({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 bad credentials' }).kind).toBe('auth');
    expect(classifySmtp({ code: 'ETLS', message: 'self-signed certificate' }).kind).toBe('auth');
    expect(classifySmtp({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' }).kind).toBe('retry');
    expect(classifySmtp({ code: 'ETIMEDOUT', message: 'Timeout' }).kind).toBe('retry');
  });

  it('refuses an unknown kind, a bad name, another kind’s settings and an unknown event', () => {
    const base = { kind: 'chat', name: 'ops', url: 'https://hooks.chat.example/x' };
    expect(DestinationEntrySchema.safeParse(base).success).toBe(true);
    expect(DestinationEntrySchema.safeParse({ ...base, kind: 'pager' }).success).toBe(false);
    expect(DestinationEntrySchema.safeParse({ ...base, name: 'Ops Channel' }).success).toBe(false);
    expect(DestinationEntrySchema.safeParse({ ...base, to: ['desk@x.example'] }).success).toBe(false);
    expect(DestinationEntrySchema.safeParse({ ...base, events: ['ticket.exploded'] }).success).toBe(false);
    expect(DestinationEntrySchema.safeParse({ ...base, priorities: ['P9'] }).success).toBe(false);
  });

  it('refuses at load a mail login with a user and no password, and two destinations of one name', () => {
    const mail = { kind: 'email', name: 'desk-mail', host: 'smtp.example', from: 'v@x.example', to: ['d@x.example'], user: 'vigil' };
    expect(() => parseConfig(TicketsConfigSchema, { destinations: [mail] }, {})).toThrow(/destinations\.0\.password: give both user and password, or neither/);
    const chat = { kind: 'chat', name: 'ops', url: 'https://hooks.chat.example/x' };
    expect(() => parseConfig(TicketsConfigSchema, { destinations: [chat, chat] }, {})).toThrow(/destinations\.1\.name: a second destination named ops/);
  });
});
