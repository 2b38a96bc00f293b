import { z } from 'zod';
import { ChannelSchema, ContactSchema, type FastifyInstance, type Principal, canSee, endpoint } from '../../core/index.ts';
import type { ComplaintActionInput, ComplaintDesk, ComplaintResult } from './desk.ts';
import { type Complaint, ComplaintCauseSchema, ComplaintEventSchema, ComplaintSchema, ComplaintStatusSchema, ComplaintTypeSchema, GradeSchema, RootCauseSchema } from './model.ts';

const DESK = ['service_desk'] as const;
const Id = z.strictObject({ id: z.coerce.number().int().positive() });
const Note = z.string().trim().min(1).max(4000);

export const ComplaintBody = z.strictObject({
  channel: ChannelSchema,
  contact: ContactSchema,
  /** Who the customer is, when the site does not say. */
  customer: z.string().trim().min(1).max(200).optional(),
  site: z.string().trim().min(1).max(64).optional(),
  complaintType: ComplaintTypeSchema,
  cause: ComplaintCauseSchema,
  description: z.string().trim().min(1).max(4000),
  severe: z.boolean().optional(),
  safetyRisk: z.boolean().optional(),
  publicExposure: z.boolean().optional(),
  /** The tickets it is about. */
  ticketIds: z.array(z.number().int().positive()).max(50).optional(),
});

const Bodies = {
  assess: z.strictObject({ grade: GradeSchema.optional(), note: Note }),
  resolve: z.strictObject({ resolution: Note }),
  'follow-up': z.strictObject({ reached: z.boolean(), score: z.number().int().min(1).max(5).optional(), note: Note }),
  archive: z.strictObject({ rootCause: RootCauseSchema }),
} as const;
type ActionName = keyof typeof Bodies;

const ListQuery = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(ComplaintStatusSchema).min(1))
    .optional(),
  site: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const Result = z.strictObject({ complaint: ComplaintSchema, event: ComplaintEventSchema });

/** Complaints about the service under /api/v1/complaints. */
export function registerComplaintsApi(app: FastifyInstance, desk: ComplaintDesk, ticketVisible: (id: number, p: Principal) => Promise<boolean>): void {
  const visible = async (id: number, p: Principal): Promise<Complaint | undefined> => {
    const c = await desk.store.get(id);
    return c && canSee(p, c.site) ? c : undefined;
  };
  const send = async (reply: { code(n: number): { send(b: unknown): unknown } }, pending: Promise<ComplaintResult>) => {
    const r = await pending;
    return r.ok ? { complaint: r.complaint, event: r.event } : reply.code(r.status).send({ error: r.error, message: r.message });
  };
  const notFound = (reply: { code(n: number): { send(b: unknown): unknown } }, id: number) => reply.code(404).send({ error: 'not_found', message: `no complaint ${id}` });
  const actor = (p: Principal) => ({ name: p.name, role: p.role });

  endpoint(app, 'POST', '/api/v1/complaints', { tag: 'complaints', summary: 'Register a complaint about the service: graded (crisis, high, important, routine), deadlined, linked to its tickets; a repeat is flagged and escalated', roles: DESK, body: ComplaintBody, response: Result, status: 201, scoped: 'filtered' }, async ({ body, principal, reply }) => {
    if (principal.sites && !(body.site !== undefined && principal.sites.has(body.site))) return reply.code(403).send({ error: 'forbidden', message: 'a token scoped to sites registers complaints for one of its sites: give site' });
    // A ticket outside the caller's sites is answered like one that does not exist.
    let hidden: number | undefined;
    for (const id of body.ticketIds ?? []) if (hidden === undefined && !(await ticketVisible(id, principal))) hidden = id;
    if (hidden !== undefined) return reply.code(400).send({ error: 'bad_request', message: `ticketIds: no ticket ${hidden}` });
    return send(reply, desk.register(body, actor(principal)));
  });
  endpoint(app, 'GET', '/api/v1/complaints', { tag: 'complaints', summary: 'List complaints, newest first (filters: status, site)', query: ListQuery, response: z.strictObject({ complaints: z.array(ComplaintSchema), total: z.number().int() }), scoped: 'filtered' }, ({ query: q, principal }) =>
    desk.store.list({ status: q.status, site: q.site, sites: principal.sites, limit: q.limit, offset: q.offset }),
  );
  endpoint(app, 'GET', '/api/v1/complaints/:id', { tag: 'complaints', summary: 'One complaint', params: Id, response: ComplaintSchema, errors: [404], scoped: 'filtered' }, async ({ params, principal, reply }) => (await visible(params.id, principal)) ?? notFound(reply, params.id));
  endpoint(app, 'GET', '/api/v1/complaints/:id/history', { tag: 'complaints', summary: "A complaint's every change with actor and time", params: Id, response: z.strictObject({ events: z.array(ComplaintEventSchema) }), errors: [404], scoped: 'filtered' }, async ({ params, principal, reply }) =>
    (await visible(params.id, principal)) ? { events: await desk.store.history(params.id) } : notFound(reply, params.id),
  );
  for (const action of Object.keys(Bodies) as ActionName[]) {
    endpoint(
      app,
      'POST',
      `/api/v1/complaints/:id/${action}`,
      { tag: 'complaints', summary: `${action[0]!.toUpperCase()}${action.slice(1).replace('-', ' ')} a complaint${action === 'archive' ? ' (needs the root cause, its 5 whys and the corrective action)' : ''}`, roles: DESK, params: Id, body: Bodies[action] as z.ZodType<Record<string, unknown>>, response: Result, errors: [404, 409], scoped: 'filtered' },
      async ({ params, body, principal, reply }) => ((await visible(params.id, principal)) ? send(reply, desk.act(params.id, { action, ...body } as ComplaintActionInput, actor(principal))) : notFound(reply, params.id)),
    );
  }
}
