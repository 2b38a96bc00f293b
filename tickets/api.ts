import { z } from 'zod';
import {
  ChannelSchema,
  ContactSchema,
  DeviceIdSchema,
  FaultSchema,
  PartUsedSchema,
  UrgencySchema,
  VisitResultSchema,
  type FastifyInstance,
  OutcomeSchema,
  type Principal,
  PrioritySchema,
  type Role,
  type Ticket,
  type TicketEvent,
  TicketEventSchema,
  WebhookEventTypeSchema,
  KpiWebhookPayloadSchema,
  FaultReportWebhookPayloadSchema,
  TicketSchema,
  TicketStatusSchema,
  WebhookPayloadSchema,
  canSee,
  endpoint,
  generateSecret,
  SseHub,
  rawJsonBodies,
  sseFrame,
} from '../core/index.ts';
import type { FastifyReply } from 'fastify';
import type { ActResult, ActionInput, ReportResult as ReportOutcome, TicketManager } from './manager.ts';
import { verify, SIGNATURE_HEADER } from './webhooks/signature.ts';
import { registerComplaintsApi } from './complaints/index.ts';
import { INDUSTRY_BANDS, KpiGroupSchema, KpiIntervalSchema, KpiRowSchema, computeKpis, kpiCsv, kpiPeriods } from './kpis.ts';

const DESK: readonly Role[] = ['service_desk'];
const Id = z.strictObject({ id: z.coerce.number().int().positive() });
const Note = z.string().trim().min(1).max(4000);
const ExternalRef = z.string().min(1).max(200);
const SiteName = z.string().trim().min(1).max(64);
const Person = z.string().trim().min(1).max(200);
const Epoch = z.number().int().min(0).max(8_640_000_000_000_000);

/** A customer's report, as the desk takes it down (phone, web form, app, mail, or on site). */
export const ReportBody = z.strictObject({
  channel: ChannelSchema,
  contact: ContactSchema,
  site: SiteName.optional(),
  deviceId: DeviceIdSchema.optional(),
  /** The desk's first diagnosis, if any; otherwise the ticket's fault is `unspecified`. */
  fault: FaultSchema.optional(),
  symptom: z.string().trim().min(1).max(4000),
  urgency: UrgencySchema.default('normal'),
});
const VisitBody = z.strictObject({
  plannedAt: Epoch,
  technician: Person,
  arrivedAt: Epoch.optional(),
  leftAt: Epoch.optional(),
  workDone: z.string().trim().min(1).max(4000).optional(),
  partsUsed: z.array(PartUsedSchema).max(100).optional(),
  result: VisitResultSchema.optional(),
});
const VisitUpdate = VisitBody.partial().refine((v) => Object.keys(v).length > 0, 'give at least one field of the visit');
const VisitId = z.strictObject({ id: z.coerce.number().int().positive(), n: z.coerce.number().int().positive() });
const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1));

const ListQuery = z.strictObject({
  status: list(TicketStatusSchema).optional(),
  priority: list(PrioritySchema).optional(),
  site: z.string().max(64).optional(),
  device: DeviceIdSchema.optional(),
  slaBreached: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** The body of each ticket action; the same shapes arrive through the inbound webhook. */
export const ActionBodies = {
  acknowledge: z.strictObject({ note: Note.optional() }),
  start: z.strictObject({ note: Note.optional() }),
  assign: z.strictObject({ assignee: z.string().trim().min(1).max(200), note: Note.optional() }),
  comment: z.strictObject({ note: Note }),
  /** The outcome and note, and how it was put right: a catalog fault code, the failed component, the action taken, parts, time on site. */
  resolve: z.strictObject({
    outcome: OutcomeSchema,
    note: Note,
    faultCode: z.string().trim().min(1).max(40).optional(),
    component: z.string().trim().min(1).max(200).optional(),
    action: z.string().trim().min(1).max(4000).optional(),
    partsUsed: z.array(PartUsedSchema).max(100).optional(),
    minutesOnSite: z.number().int().min(0).max(100_000).optional(),
  }),
  close: z.strictObject({ note: Note.optional() }),
  reopen: z.strictObject({ note: Note }),
  /** Completes a customer's report that named no known site: then it is prioritised and dispatched. */
  review: z.strictObject({ site: SiteName, deviceId: DeviceIdSchema.optional(), fault: FaultSchema.optional(), urgency: UrgencySchema.optional(), note: Note.optional() }),
  /** The customer confirms the fix (recorded by the technician with the customer's name). */
  accept: z.strictObject({ by: Person, note: Note.optional() }),
  /** The return visit's answer: satisfaction 1-5 (4-5 is satisfied), optional NPS 0-10 and comment. */
  survey: z.strictObject({ score: z.number().int().min(1).max(5), nps: z.number().int().min(0).max(10).optional(), comment: z.string().trim().min(1).max(2000).optional() }),
} as const;
type ActionName = keyof typeof ActionBodies;
/**
 * Every action may say which version of the ticket it was decided on (`version`, as the ticket read
 * showed it): a ticket changed since is refused with 409 and nothing changes.
 */
const Version = z.number().int().positive().optional();
const ActionBodiesVersioned = Object.fromEntries(Object.entries(ActionBodies).map(([k, v]) => [k, v.extend({ version: Version })])) as unknown as { [K in ActionName]: (typeof ActionBodies)[K] };
const ACTIONS = Object.keys(ActionBodies) as ActionName[];

/** An action's body inbound: there `action` names the action, so a resolve's action taken is `actionTaken`. */
function inboundBody(a: ActionName): z.ZodObject {
  const body = ActionBodiesVersioned[a] as z.ZodObject;
  return a === 'resolve' ? body.omit({ action: true }).extend({ actionTaken: z.string().trim().min(1).max(4000).optional() }) : body;
}

type ResolveBody = Omit<z.infer<typeof ActionBodies.resolve>, 'action'> & { externalRef?: string | undefined };

/** The resolve body's structured fields as the manager takes them; `taken` is the action taken. */
function resolveInput(b: ResolveBody, taken: string | undefined): ActionInput {
  return { action: 'resolve', outcome: b.outcome, note: b.note, externalRef: b.externalRef, resolution: { faultCode: b.faultCode, component: b.component, action: taken, partsUsed: b.partsUsed, minutesOnSite: b.minutesOnSite } };
}

/** What the desk's system sends to the inbound webhook: a ticket action, its actor and its own reference. */
export const InboundSchema = z.discriminatedUnion('action', [
  ...ACTIONS.map((a) => inboundBody(a).extend({ action: z.literal(a), ticketId: z.number().int().positive(), actor: z.string().min(1).max(200), externalRef: ExternalRef.optional() })),
] as unknown as [z.ZodObject, ...z.ZodObject[]]);
type Inbound = ActionInput & { ticketId: number; actor: string };

const SubscriptionBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2000),
  events: z.array(z.union([WebhookEventTypeSchema, z.literal('*')])).min(1).default(['*']),
  /** Shared secret for the HMAC signatures, both ways; generated (and shown once) when omitted. */
  secret: z.string().min(16).max(200).optional(),
  description: z.string().max(500).default(''),
  /** `cloudevents`: each event wrapped as a CloudEvents 1.0 structured event (for generic event routers). */
  format: z.enum(['vigil', 'cloudevents']).default('vigil'),
});
const DeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  subscription: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const DestinationDeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  destination: z.string().max(63).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const StreamQuery = z.strictObject({ after: z.coerce.number().int().min(0).optional() });

const MAX_STREAMS = 200;

/** An instant in a query: epoch milliseconds, a date (`2026-01-31`, midnight UTC) or an ISO date-time. */
export const Instant = z.union([
  z.string().regex(/^\d{1,15}$/).transform(Number),
  z.iso.date().transform((d) => Date.parse(`${d}T00:00:00Z`)),
  z.iso.datetime({ offset: true }).transform((d) => Date.parse(d)),
]);
const KpiQuery = z
  .strictObject({
    from: Instant.optional(),
    to: Instant.optional(),
    groupBy: KpiGroupSchema.default('site'),
    interval: KpiIntervalSchema.default('month'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] })
  .refine((q) => q.from === undefined || q.to === undefined || q.to - q.from <= 3 * 366 * 86_400_000, { message: 'at most three years at once', path: ['to'] });
const KpiPage = z.strictObject({
  from: z.number().int(),
  to: z.number().int(),
  groupBy: KpiGroupSchema,
  interval: KpiIntervalSchema,
  targets: z.strictObject({ responseMinutes: z.number(), firstTimeFix: z.number(), resolution: z.number(), satisfaction: z.number(), minTickets: z.number().int() }),
  industry: z.strictObject({ firstTimeFix: z.strictObject({ average: z.array(z.number()), bestInClass: z.number(), source: z.string() }) }),
  rows: z.array(KpiRowSchema),
});

// What the routes answer; documented in OpenAPI and checked against every answer in tests.
const TicketPage = z.strictObject({ tickets: z.array(TicketSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
const ActionResult = z.strictObject({ ticket: TicketSchema, event: TicketEventSchema });
const InboundResult = z.union([ActionResult, z.strictObject({ duplicate: z.literal(true), ticket: TicketSchema.optional() })]);
const ReportResult = ActionResult.extend({ joined: z.boolean().describe('the report joined an open ticket of the device instead of opening one') });
const LinkOut = z.strictObject({ purpose: z.enum(['accept', 'survey']), url: z.string(), expiresAt: z.number().int() });
const count = z.number().int();
const RuleStats = z.strictObject({
  rules: z.array(z.strictObject({ ruleId: z.string(), tickets: count, open: count, confirmed: count, no_fault_found: count, false_alarm: count, precision: z.number().nullable() })),
});
const SubscriptionOut = z.strictObject({
  id: z.number().int(),
  url: z.string(),
  events: z.array(z.union([WebhookEventTypeSchema, z.literal('*')])),
  description: z.string(),
  createdAt: z.number().int(),
  createdBy: z.string(),
  active: z.boolean(),
  format: z.enum(['vigil', 'cloudevents']),
});
const Subscriptions = z.strictObject({
  subscriptions: z.array(SubscriptionOut),
  outbox: z.strictObject({ pending: z.number().int(), dead: z.number().int(), oldestPendingAt: z.number().int().nullable() }),
});
const Created = SubscriptionOut.extend({ secret: z.string().optional().describe('the generated secret, shown once; absent when you gave one') });
/** A delivery as the lists show it (without its payload). */
const DeliveryOut = z.strictObject({
  id: z.number().int(),
  eventId: z.number().int(),
  ticketId: z.number().int(),
  type: WebhookEventTypeSchema,
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
  nextAt: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.number().int(),
  deliveredAt: z.number().int().nullable(),
});
const Deliveries = z.strictObject({ deliveries: z.array(DeliveryOut.extend({ subscriptionId: z.number().int() })), total: z.number().int() });
const Destinations = z.strictObject({
  destinations: z.array(
    z.strictObject({
      name: z.string(),
      kind: z.string(),
      events: z.array(z.string()),
      priorities: z.array(z.string()).nullable(),
      sites: z.array(z.string()).nullable(),
      pending: z.number().int(),
      dead: z.number().int(),
    }),
  ),
});
const DestinationDeliveries = z.strictObject({ deliveries: z.array(DeliveryOut.extend({ destination: z.string() })), total: z.number().int() });
const JsonSchemaOut = z.record(z.string(), z.unknown());

async function send(reply: { code(n: number): { send(b: unknown): unknown } }, pending: Promise<ActResult | ReportOutcome>): Promise<unknown> {
  const r = await pending;
  if (!r.ok) return reply.code(r.status).send({ error: r.error, message: r.message });
  return 'joined' in r ? { ticket: r.ticket, event: r.event, joined: r.joined } : { ticket: r.ticket, event: r.event };
}

/** Tickets, their live stream, rule precision and webhook management under /api/v1. */
export function registerTicketsApi(app: FastifyInstance, tickets: TicketManager, now: () => number): void {
  // A ticket outside the caller's scope is answered like one that does not exist.
  const visible = async (id: number, p: Principal): Promise<Ticket | undefined> => {
    const t = await tickets.store.get(id);
    return t && canSee(p, t.site) ? t : undefined;
  };
  const notFound = (reply: FastifyReply, id: number) => reply.code(404).send({ error: 'not_found', message: `no ticket ${id}` });

  endpoint(app, 'GET', '/api/v1/tickets', { tag: 'tickets', summary: 'List tickets (filters: status, priority, site, device, slaBreached; pagination: limit, offset)', query: ListQuery, response: TicketPage, scoped: 'filtered' }, async ({ query: q, principal }) => ({
    ...(await tickets.store.list({ status: q.status, priority: q.priority, site: q.site, device: q.device, slaBreached: q.slaBreached, sites: principal.sites, limit: q.limit, offset: q.offset })),
    limit: q.limit,
    offset: q.offset,
  }));

  endpoint(app, 'GET', '/api/v1/tickets/:id', { tag: 'tickets', summary: 'One ticket with its evidence and suggested action', params: Id, response: TicketSchema, errors: [404], scoped: 'filtered' }, async ({ params, principal, reply }) => {
    return (await visible(params.id, principal)) ?? notFound(reply, params.id);
  });

  endpoint(app, 'GET', '/api/v1/tickets/:id/history', { tag: 'tickets', summary: 'Every change to a ticket with actor and time', params: Id, response: z.strictObject({ events: z.array(TicketEventSchema) }), errors: [404], scoped: 'filtered' }, async ({ params, principal, reply }) => {
    if (!(await visible(params.id, principal))) return notFound(reply, params.id);
    return { events: await tickets.store.history(params.id) };
  });

  for (const action of ACTIONS) {
    const roles: readonly Role[] = action === 'comment' ? ['service_desk', 'operator'] : DESK;
    const via = action === 'accept' ? { via: 'technician' } : action === 'survey' ? { via: 'api' } : {};
    endpoint(app, 'POST', `/api/v1/tickets/:id/${action}`, { tag: 'tickets', summary: `${action[0]!.toUpperCase()}${action.slice(1)} a ticket`, roles, params: Id, body: ActionBodiesVersioned[action] as z.ZodType<Record<string, unknown>>, response: ActionResult, errors: [404, 409], scoped: 'filtered' }, async ({ params, body, principal, reply }) => {
      if (!(await visible(params.id, principal))) return notFound(reply, params.id);
      // A scoped desk reviews a report into one of its own sites only.
      if (action === 'review' && principal.sites && !principal.sites.has(String(body.site))) return reply.code(403).send({ error: 'forbidden', message: 'a token scoped to sites reviews a report into one of its sites' });
      const { version, ...rest } = body as { version?: number };
      const input = action === 'resolve' ? resolveInput(rest as ResolveBody, (rest as { action?: string }).action) : ({ action, ...rest, ...via } as ActionInput);
      return send(reply, tickets.act(params.id, input, { name: principal.name, role: principal.role }, principal.sites, version));
    },
    );
  }

  endpoint(
    app,
    'POST',
    '/api/v1/tickets',
    { tag: 'tickets', summary: "A customer's report: joins the device's open ticket for the same problem, or opens a `reported` ticket (`new` until reviewed when no known site)", roles: DESK, body: ReportBody, response: ReportResult, status: 201, scoped: 'filtered' },
    ({ body, principal, reply }) => {
      if (principal.sites && !(body.site !== undefined && principal.sites.has(body.site))) return reply.code(403).send({ error: 'forbidden', message: 'a token scoped to sites reports for one of its sites: give site' });
      return send(reply, tickets.report(body, { name: principal.name, role: principal.role }, principal.sites));
    },
  );

  endpoint(app, 'POST', '/api/v1/tickets/:id/visits', { tag: 'tickets', summary: "Plan a technician's visit (and, if it is over, record it)", roles: DESK, params: Id, body: VisitBody, response: ActionResult, status: 201, errors: [404, 409], scoped: 'filtered' }, async ({ params, body, principal, reply }) =>
    (await visible(params.id, principal)) ? send(reply, tickets.visit(params.id, undefined, body, { name: principal.name, role: principal.role })) : notFound(reply, params.id),
  );
  endpoint(app, 'POST', '/api/v1/tickets/:id/visits/:n', { tag: 'tickets', summary: 'Record what happened on a visit: arrived, left, work done, parts used, result', roles: DESK, params: VisitId, body: VisitUpdate, response: ActionResult, errors: [404, 409], scoped: 'filtered' }, async ({ params, body, principal, reply }) =>
    (await visible(params.id, principal)) ? send(reply, tickets.visit(params.id, params.n, body, { name: principal.name, role: principal.role })) : notFound(reply, params.id),
  );
  endpoint(
    app,
    'POST',
    '/api/v1/tickets/:id/link',
    { tag: 'tickets', summary: "A fresh signed link for the customer: `accept` (confirm the fix) or `survey` (the return visit's questions)", roles: DESK, params: Id, body: z.strictObject({ purpose: z.enum(['accept', 'survey']) }), response: LinkOut, errors: [404, 409], scoped: 'filtered' },
    async ({ params, body, principal, reply }) => {
      const t = await visible(params.id, principal);
      if (!t) return notFound(reply, params.id);
      const want = body.purpose === 'accept' ? ['resolved'] : ['resolved', 'accepted'];
      if (!want.includes(t.status)) return reply.code(409).send({ error: 'conflict', message: `a ${body.purpose} link is for a ticket that is ${want.join(' or ')}; this one is ${t.status}` });
      return tickets.link(t, body.purpose, now()) ?? reply.code(409).send({ error: 'conflict', message: 'this server signs no customer links' });
    },
  );

  endpoint(
    app,
    'GET',
    '/api/v1/kpis',
    { tag: 'tickets', summary: 'The desk\'s KPIs per group and period (response time, first-time fix, resolution, satisfaction, NPS, MTTR, share predicted), with targets; format=csv for the table as CSV', query: KpiQuery, response: KpiPage, scoped: 'filtered' },
    async ({ query: q, principal, reply }) => {
      // Whole weeks or months: the periods the rows stand for, and what the answer says it covered.
      const { from, to } = kpiPeriods(q.from ?? (q.to ?? now()) - 90 * 86_400_000, q.to ?? now(), q.interval);
      const targets = tickets.policy.targets;
      const rows = await computeKpis(tickets.store.sql, { from, to, groupBy: q.groupBy, interval: q.interval, asOf: now(), sites: principal.sites }, targets);
      if (q.format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="vigil-kpis-${q.groupBy}-${q.interval}.csv"`).send(kpiCsv(rows));
      return { from, to, groupBy: q.groupBy, interval: q.interval, targets, industry: { firstTimeFix: { ...INDUSTRY_BANDS.firstTimeFix, average: [...INDUSTRY_BANDS.firstTimeFix.average] } }, rows };
    },
  );

  registerComplaintsApi(app, tickets.complaints, async (id, p) => (await visible(id, p)) !== undefined);

  endpoint(
    app,
    'GET',
    '/api/v1/kpis/alerts',
    { tag: 'tickets', summary: 'The kpi.below_target events raised, newest first', query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }), response: z.strictObject({ alerts: z.array(z.strictObject({ id: z.number().int(), groupBy: z.string(), group: z.string(), period: z.string(), kpi: z.string(), value: z.number(), target: z.number(), at: z.number().int() })) }) },
    async ({ query }) => ({ alerts: await tickets.kpiAlerts.list(query.limit) }),
  );

  endpoint(app, 'GET', '/api/v1/rules/stats', { tag: 'rules', summary: 'Per rule: tickets by outcome and precision = confirmed / (confirmed + false_alarm + no_fault_found)', response: RuleStats }, async () => ({ rules: await tickets.stats() }));

  const streams = new SseHub<ReadonlySet<string> | undefined>(app, MAX_STREAMS);
  tickets.onEvent((ev, t) => {
    const frame = sse(ev, t);
    streams.send((sites) => (!sites || (t.site !== null && sites.has(t.site)) ? frame : null));
  });
  endpoint(
    app,
    'GET',
    '/api/v1/tickets/stream',
    { tag: 'tickets', summary: 'Live ticket events (Server-Sent Events); resumes after Last-Event-ID or ?after=', query: StreamQuery, queryToken: true, response: 'event-stream', scoped: 'filtered' },
    async ({ query, principal, req, reply }) => {
      const lastId = Number(req.headers['last-event-id'] ?? query.after ?? (await tickets.store.lastEventId()));
      const replay: string[] = [];
      if (Number.isInteger(lastId)) {
        for (const ev of await tickets.store.eventsAfter(lastId, 1000)) {
          const t = (await tickets.store.get(ev.ticketId))!;
          if (canSee(principal, t.site)) replay.push(sse(ev, t));
        }
      }
      return streams.open(req, reply, principal.sites, replay);
    },
  );

  // Webhooks: subscriptions, deliveries, dead letters, payload schema.
  endpoint(app, 'GET', '/api/v1/webhooks', { tag: 'webhooks', summary: 'Webhook subscriptions (secrets are not shown)', roles: ['admin'], response: Subscriptions }, async () => ({
    subscriptions: (await tickets.outbox.subscriptions()).map(({ secret: _, ...s }) => s),
    outbox: await tickets.outbox.counts(),
  }));
  endpoint(app, 'POST', '/api/v1/webhooks', { tag: 'webhooks', summary: 'Subscribe a URL to ticket events; the secret is shown once', roles: ['admin'], body: SubscriptionBody, response: Created, status: 201 }, async ({ body, principal }) => {
    const secret = body.secret ?? generateSecret(32);
    const s = await tickets.outbox.createSubscription({ url: body.url, events: body.events, secret, description: body.description, createdAt: now(), createdBy: principal.name, format: body.format });
    const { secret: _, ...shown } = s;
    return body.secret ? shown : { ...shown, secret };
  });
  endpoint(app, 'DELETE', '/api/v1/webhooks/:id', { tag: 'webhooks', summary: 'Remove a subscription; its pending deliveries become dead letters', roles: ['admin'], params: Id, response: z.strictObject({ deleted: z.number().int() }), errors: [404] }, async ({ params, reply }) =>
    (await tickets.outbox.deleteSubscription(params.id)) ? { deleted: params.id } : reply.code(404).send({ error: 'not_found', message: `no subscription ${params.id}` }),
  );
  endpoint(app, 'GET', '/api/v1/webhooks/deliveries', { tag: 'webhooks', summary: 'Deliveries by status; status=dead is the dead-letter list', roles: ['admin'], query: DeliveriesQuery, response: Deliveries }, ({ query: q }) =>
    tickets.outbox.deliveries({ status: q.status, subscriptionId: q.subscription, limit: q.limit, offset: q.offset }),
  );
  endpoint(app, 'POST', '/api/v1/webhooks/deliveries/:id/replay', { tag: 'webhooks', summary: 'Send a dead letter again (same idempotency key)', roles: ['admin'], params: Id, body: z.strictObject({}), response: z.strictObject({ replayed: z.number().int() }), errors: [404] }, async ({ params, reply }) => {
    if (!(await tickets.outbox.replay(params.id, now()))) return reply.code(404).send({ error: 'not_found', message: `no dead letter ${params.id} of an active subscription` });
    tickets.webhooks.kick();
    return { replayed: params.id };
  });
  // Destinations of the config file (email, chat, webhook): what each holds, its deliveries, dead letters.
  endpoint(app, 'GET', '/api/v1/destinations', { tag: 'webhooks', summary: 'Ticket destinations of the config file, with their pending and dead deliveries (addresses and secrets are not shown)', roles: ['admin'], response: Destinations }, async () => ({
    destinations: await tickets.outputs.list(),
  }));
  endpoint(app, 'GET', '/api/v1/destinations/deliveries', { tag: 'webhooks', summary: 'Deliveries of the configured destinations by status; status=dead is their dead-letter list', roles: ['admin'], query: DestinationDeliveriesQuery, response: DestinationDeliveries }, ({ query: q }) =>
    tickets.outputs.deliveries({ name: q.destination, status: q.status, limit: q.limit, offset: q.offset }),
  );
  endpoint(app, 'POST', '/api/v1/destinations/deliveries/:id/replay', { tag: 'webhooks', summary: 'Send a dead letter of a configured destination again (same idempotency key)', roles: ['admin'], params: Id, body: z.strictObject({}), response: z.strictObject({ replayed: z.number().int() }), errors: [404] }, async ({ params, reply }) => {
    if (!(await tickets.outputs.replay(params.id, now()))) return reply.code(404).send({ error: 'not_found', message: `no dead letter ${params.id} of a configured destination` });
    tickets.webhooks.kick();
    return { replayed: params.id };
  });
  endpoint(app, 'GET', '/api/v1/webhooks/schema', { tag: 'webhooks', summary: 'JSON Schema of webhook payloads (outbound) and inbound updates', response: z.strictObject({ outbound: JsonSchemaOut, inbound: JsonSchemaOut }), scoped: 'global' }, () => ({
    outbound: z.toJSONSchema(z.union([WebhookPayloadSchema, KpiWebhookPayloadSchema, FaultReportWebhookPayloadSchema]), { io: 'output' }),
    inbound: z.toJSONSchema(InboundSchema, { io: 'input' }),
  }));

  // The desk's system updates a ticket: signed with the subscription's secret instead of a token.
  void app.register(async (child) => {
    rawJsonBodies(child);
    endpoint(
      child,
      'POST',
      '/api/v1/webhooks/:id/inbound',
      { tag: 'webhooks', summary: `Inbound update from the service desk, signed in the ${SIGNATURE_HEADER} header with the subscription's secret`, params: Id, auth: 'signature', rawBody: InboundSchema, response: InboundResult, errors: [404, 409] },
      async ({ params, req, reply }) => {
        const sub = await tickets.outbox.subscription(params.id);
        const raw = typeof req.body === 'string' ? req.body : '';
        // One answer for an unknown subscription and a bad signature, so ids cannot be probed.
        const check = sub?.active ? verify(sub.secret, req.headers[SIGNATURE_HEADER] as string | undefined, raw, now()) : { ok: false as const, reason: 'signature does not match' };
        if (!check.ok) return reply.code(401).send({ error: 'unauthorized', message: check.reason });
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          return reply.code(400).send({ error: 'bad_request', message: 'body: not valid JSON' });
        }
        const r = InboundSchema.safeParse(json);
        if (!r.success) return reply.code(400).send({ error: 'bad_request', message: r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
        const { ticketId, actor, ...input } = r.data as unknown as Inbound;
        // The desk's idempotency key, or else the signature itself: a request sent twice, by a retry or
        // by someone replaying a captured one inside the signature's time window, is applied once.
        const key = String(req.headers['idempotency-key'] ?? req.headers[SIGNATURE_HEADER]);
        const ticket = await tickets.store.get(ticketId);
        if (!(await tickets.outbox.takeInbound(params.id, key, now()))) return { duplicate: true, ticket };
        const via = input.action === 'accept' || input.action === 'survey' ? { via: 'webhook' } : {};
        const { version, ...rest } = input as ActionInput & { version?: number };
        const given = rest.action === 'resolve' ? resolveInput(rest as unknown as ResolveBody, (rest as { actionTaken?: string }).actionTaken) : ({ ...rest, ...via } as ActionInput);
        const result = await tickets.act(ticketId, given, { name: actor, role: `webhook:${params.id}` }, undefined, version);
        if (!result.ok) await tickets.outbox.forgetInbound(params.id, key);
        return send(reply, Promise.resolve(result));
      },
    );
  });
}

function sse(ev: TicketEvent, t: Ticket): string {
  return sseFrame(ev.type, { event: ev, ticket: t }, ev.id);
}
