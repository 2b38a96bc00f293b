import { z } from 'zod';
import { type FastifyInstance, FaultSchema, type Principal, type Ticket, canSee, endpoint } from '../core/index.ts';
import { Instant } from './api.ts';
import { CaseSchema, SimilarCaseSchema, shapeOf } from './cases.ts';
import { FaultCodeKindSchema } from './fault-codes.ts';
import { FaultGroupBySchema, FaultReportRowSchema, faultReport, faultReportCsv } from './fault-report.ts';
import { AdviceSchema, KnowledgeVersionSchema } from './knowledge.ts';
import type { TicketManager } from './manager.ts';
import { ForecastGroupBySchema, ForecastLineSchema, partsForecast, partsForecastCsv } from './parts-forecast.ts';
import { assetOf } from './policy.ts';

const Id = z.strictObject({ id: z.coerce.number().int().positive() });
const Limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);
const Format = z.enum(['json', 'csv']).default('json');
const DAY = 86_400_000;

const FaultCodeOut = z.strictObject({ code: z.string(), kind: FaultCodeKindSchema, title: z.string(), description: z.string().optional() });
const Knowledge = z.strictObject({ fault: FaultSchema, title: z.string(), action: z.string(), parts: z.array(z.string()), source: z.enum(['edited', 'config', 'shipped']), version: z.number().int().nullable() });
const KnowledgeEdit = AdviceSchema.extend({
  title: z.string().trim().min(1).max(200),
  action: z.string().trim().min(1).max(4000),
  parts: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
  /** Why it changed: kept with the version. */
  comment: z.string().trim().min(1).max(1000),
});
const ReportQuery = z
  .strictObject({ from: Instant.optional(), to: Instant.optional(), groupBy: FaultGroupBySchema.default('model'), format: Format })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });
const ForecastQuery = z.strictObject({ days: z.coerce.number().int().min(1).max(365).default(30), groupBy: ForecastGroupBySchema.default('region'), format: Format });

/**
 * The desk's memory and what it tells engineering and the warehouse: fault codes, similar past cases,
 * case search, the editable knowledge base, the fault report and the parts forecast.
 */
export function registerLibraryApi(app: FastifyInstance, tickets: TicketManager, now: () => number): void {
  const visible = async (id: number, p: Principal): Promise<Ticket | undefined> => {
    const t = await tickets.store.get(id);
    return t && canSee(p, t.site) ? t : undefined;
  };

  endpoint(app, 'GET', '/api/v1/fault-codes', { tag: 'cases', summary: 'The fault-code catalog: the ISO 14224 failure modes, mechanisms (M…) and causes (C…) for rotating equipment, and the operator’s own', response: z.strictObject({ codes: z.array(FaultCodeOut) }), scoped: 'global' }, () => ({
    codes: tickets.catalog.list(),
  }));

  endpoint(
    app,
    'GET',
    '/api/v1/tickets/:id/similar',
    { tag: 'cases', summary: 'The most useful past cases for a ticket: same model, fault and fault code, alike evidence; confirmed fixes first, false alarms marked', params: Id, query: z.strictObject({ limit: Limit(50, 5) }), response: z.strictObject({ ticketId: z.number().int(), cases: z.array(SimilarCaseSchema) }), errors: [404], scoped: 'filtered' },
    async ({ params, query, principal, reply }) => {
      const t = await visible(params.id, principal);
      if (!t) return reply.code(404).send({ error: 'not_found', message: `no ticket ${params.id}` });
      const probe = { ticketId: t.id, deviceId: t.deviceId, model: t.equipment?.model, fault: t.fault, faultCode: t.resolution?.faultCode, ...shapeOf(t) };
      return { ticketId: t.id, cases: await tickets.cases.similar(probe, query.limit, principal.sites) };
    },
  );

  endpoint(
    app,
    'GET',
    '/api/v1/cases',
    { tag: 'cases', summary: 'Search past cases: words of their text (prefixes, all must match) or a fault code in any case or spacing (`m 2.4`, `vib`)', query: z.strictObject({ q: z.string().trim().min(1).max(200), limit: Limit(100, 20) }), response: z.strictObject({ cases: z.array(CaseSchema) }), scoped: 'filtered' },
    async ({ query, principal }) => ({ cases: await tickets.cases.search(query.q, query.limit, principal.sites) }),
  );

  endpoint(app, 'GET', '/api/v1/knowledge', { tag: 'cases', summary: 'The advice per fault that new tickets start from (when no past case fits): edited, from the config, or shipped', response: z.strictObject({ entries: z.array(Knowledge) }), scoped: 'global' }, async () => ({
    entries: await Promise.all(FaultSchema.options.map(async (fault) => ({ fault, ...(await tickets.knowledge.advice(fault)) }))),
  }));
  endpoint(app, 'GET', '/api/v1/knowledge/:fault', { tag: 'cases', summary: 'Every edited version of a fault’s advice, newest first, with author, time and reason', params: z.strictObject({ fault: FaultSchema }), response: z.strictObject({ current: Knowledge, versions: z.array(KnowledgeVersionSchema) }), scoped: 'global' }, async ({ params }) => ({
    current: { fault: params.fault, ...(await tickets.knowledge.advice(params.fault)) },
    versions: await tickets.knowledge.versions(params.fault),
  }));
  endpoint(
    app,
    'PUT',
    '/api/v1/knowledge/:fault',
    { tag: 'cases', summary: 'Publish a new version of a fault’s advice (title, action, parts) with the reason for it', roles: ['operator'], params: z.strictObject({ fault: FaultSchema }), body: KnowledgeEdit, response: KnowledgeVersionSchema },
    async ({ params, body, principal }) => {
      const { comment, ...advice } = body;
      const v = await tickets.knowledge.publish(params.fault, advice, principal.name, comment, now());
      await tickets.audit?.record(v.at, principal.name, 'knowledge.publish', { fault: v.fault, version: v.version, comment });
      return v;
    },
  );

  endpoint(
    app,
    'GET',
    '/api/v1/reports/faults',
    { tag: 'cases', summary: 'The engineering report per model, firmware or site: top faults and fault codes, share confirmed, MTBF and MTTR (EN 15341), share predicted before the customer noticed; format=csv for CSV', query: ReportQuery, response: z.strictObject({ from: z.number().int(), to: z.number().int(), groupBy: FaultGroupBySchema, rows: z.array(FaultReportRowSchema) }), scoped: 'filtered' },
    async ({ query: q, principal, reply }) => {
      const to = q.to ?? now();
      const from = q.from ?? to - 365 * DAY;
      const mine = async function* () {
        for await (const t of tickets.store.iterate(from, to)) if (canSee(principal, t.site)) yield t;
      };
      const rows = await faultReport(mine(), { groupBy: q.groupBy, firstReading: (d) => tickets.firstReading(d), previousFault: (d, before) => tickets.store.lastConfirmedBefore(d, before), catalog: tickets.catalog });
      if (q.format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="vigil-faults-${q.groupBy}.csv"`).send(faultReportCsv(rows));
      return { from, to, groupBy: q.groupBy, rows };
    },
  );

  endpoint(
    app,
    'GET',
    '/api/v1/parts/forecast',
    { tag: 'cases', summary: 'Parts the next days will likely need per region or dispatch group: parts of visits planned in the window, plus likely parts of open predicted tickets weighted by rule precision and time to limit; format=csv for the warehouse', query: ForecastQuery, response: z.strictObject({ at: z.number().int(), days: z.number().int(), groupBy: ForecastGroupBySchema, lines: z.array(ForecastLineSchema) }), scoped: 'filtered' },
    async ({ query: q, principal, reply }) => {
      const at = now();
      const working: Ticket[] = [];
      for await (const t of tickets.store.working()) if (canSee(principal, t.site)) working.push(t);
      const precision = new Map((await tickets.stats()).flatMap((s) => (s.precision === null ? [] : [[s.ruleId, s.precision] as const])));
      const policy = tickets.policy;
      const lines = partsForecast(working, { now: at, days: q.days, groupBy: q.groupBy, precision, defaultPrecision: 0.5, regionOf: (t) => assetOf(policy, t.deviceId ?? '', t.site).region });
      if (q.format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="vigil-parts-${q.days}d-${q.groupBy}.csv"`).send(partsForecastCsv(lines));
      return { at, days: q.days, groupBy: q.groupBy, lines };
    },
  );
}
