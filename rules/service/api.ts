import { z } from 'zod';
import { DeviceIdSchema, type FastifyInstance, FaultSchema, FindingSchema, type Role, canSee, endpoint } from '../../core/index.ts';
import { rulesetJsonSchema } from '../rulesets/schema.ts';
import type { RuleService, Validation } from './service.ts';
import { ActiveAlertSchema as Alert } from './api-schemas.ts';
import { MaintenanceInputSchema, MaintenanceWindowSchema } from './maintenance.ts';

const DAY = 86_400_000;
const MAX_YAML = 512 * 1024;

const TimeSchema = z.union([z.number().int().nonnegative(), z.string().datetime({ offset: true })]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));
const YamlBody = z.strictObject({ yaml: z.string().min(1).max(MAX_YAML) });
const PublishBody = z.strictObject({ yaml: z.string().min(1).max(MAX_YAML), comment: z.string().min(1).max(1000) });
const ActivateBody = z.strictObject({ comment: z.string().min(1).max(1000) });
const OPERATOR: readonly Role[] = ['operator'];
const BacktestBody = z
  .strictObject({
    /** The ruleset to try; omit it (and `version`) to backtest the active one. */
    yaml: z.string().min(1).max(MAX_YAML).optional(),
    version: z.number().int().positive().optional(),
    from: TimeSchema.optional(),
    to: TimeSchema.optional(),
    /** When from/to are not given: the last N days. */
    days: z.number().positive().max(400).default(7),
    devices: z.array(DeviceIdSchema).min(1).max(1000).optional(),
    /** Also run the active ruleset over the same history, for a side-by-side preview. */
    compare: z.boolean().default(true),
    limit: z.number().int().min(0).max(10_000).default(500),
    /** Devices that really failed: each run then reports lead times and false alarms. */
    truth: z.array(z.strictObject({ deviceId: DeviceIdSchema, failedAt: TimeSchema, fault: FaultSchema.optional() })).min(1).max(1000).optional(),
  })
  .refine((b) => !(b.yaml && b.version), { message: 'give yaml or version, not both' });
const FindingsQuery = z.strictObject({
  device: DeviceIdSchema.optional(),
  rule: z.string().max(64).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  after: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const VersionParam = z.strictObject({ version: z.coerce.number().int().positive() });

// What the routes answer; documented in OpenAPI and checked against every answer in tests.
const int = z.number().int();
// One collator for every sort (String#localeCompare builds its rules on each call).
const byId = new Intl.Collator().compare;
const Version = z.strictObject({ version: int, name: z.string(), author: z.string(), comment: z.string(), createdAt: int, diff: z.string() });
const Skipped = z.array(z.strictObject({ ruleId: z.string(), metric: z.string(), reason: z.string() }));
const Limits = z.record(z.string(), z.unknown());
const hoursOrNull = z.number().nullable();
const LeadTimes = z.strictObject({
  failures: z.array(z.strictObject({ deviceId: z.string(), failedAt: int, fault: FaultSchema.nullable(), firstFindingAt: int.nullable(), leadTimeHours: hoursOrNull, firstMatchingAt: int.nullable(), matchingLeadTimeHours: hoursOrNull, tickets: int })),
  falseAlarms: z.array(z.strictObject({ deviceId: z.string(), findings: int, firstAt: int, hoursBeforeEnd: z.number(), faults: z.array(FaultSchema), tickets: int })),
  transmitted: z.record(z.string(), z.strictObject({ findings: int, sources: z.array(z.string()) })),
  ticketsPerDevice: z.record(z.string(), int),
});
const Run = z.strictObject({ version: int.nullable(), summary: z.looseObject({ readings: int, late: int, findings: int, devices: z.array(z.looseObject({})) }), findings: z.array(FindingSchema), truncated: z.boolean(), leadTimes: LeadTimes.optional() });

/** A 422 in the API's one error shape, with every problem and its path. */
function invalid(v: Extract<Validation, { valid: false }>) {
  return { error: 'invalid_ruleset', message: v.issues.map((i) => `${i.path}: ${i.message}`).join('; '), valid: false, issues: v.issues };
}

/** Findings, alert states and ruleset management under /api/v1; publishing is recorded under the caller's token name. */
export function registerRulesApi(app: FastifyInstance, rules: RuleService, now: () => number): void {
  endpoint(app, 'GET', '/api/v1/findings', { tag: 'rules', summary: 'Findings, newest first (filters: device, rule, since, after)', query: FindingsQuery, response: z.strictObject({ findings: z.array(FindingSchema.extend({ id: int })) }), scoped: 'filtered' }, async ({ query: q, principal }) => ({
    findings: await rules.findings.list({ ...(q.device ? { deviceId: q.device } : {}), ...(q.rule ? { ruleId: q.rule } : {}), since: q.since, after: q.after, sites: principal.sites, limit: q.limit }),
  }));

  endpoint(app, 'GET', '/api/v1/alerts', { tag: 'rules', summary: 'Alerts that are not normal, with their evidence', query: z.strictObject({ device: DeviceIdSchema.optional() }), response: z.strictObject({ alerts: z.array(Alert) }), scoped: 'filtered' }, ({ query: q, principal }) => ({
    alerts: rules.live.alerts(q.device ? { deviceId: q.device } : undefined).filter((a) => canSee(principal, a.site)),
  }));

  endpoint(app, 'GET', '/api/v1/rulesets', { tag: 'rules', summary: 'Ruleset versions and the active one', response: z.strictObject({ active: int, versions: z.array(Version) }) }, async () => ({ active: rules.version, versions: await rules.versions.list() }));
  endpoint(app, 'GET', '/api/v1/rulesets/schema', { tag: 'rules', summary: 'JSON Schema of a ruleset', response: z.record(z.string(), z.unknown()), scoped: 'global' }, () => rulesetJsonSchema());
  // A fleet's plans are paged: at 50,000 devices the whole list would be tens of megabytes per call.
  const PlansQuery = z.strictObject({
    device: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    offset: z.coerce.number().int().min(0).default(0),
  });
  endpoint(
    app,
    'GET',
    '/api/v1/rulesets/active',
    {
      tag: 'rules',
      summary: 'The active ruleset and the rules each device runs, a page of devices at a time (by device id; ?device= finds ids containing it)',
      query: PlansQuery,
      response: Version.extend({ yaml: z.string(), totalPlans: int, limit: int, offset: int, plans: z.array(z.strictObject({ deviceId: z.string(), site: z.string().optional(), assetClass: z.string().optional(), rules: z.array(z.strictObject({ ruleId: z.string(), kind: z.string(), metric: z.string(), limits: Limits })), skipped: Skipped })) }),
    },
    async ({ query: q }) => {
      const v = (await rules.versions.get(rules.version))!;
      const needle = q.device?.toLowerCase();
      const all = rules.live
        .plans()
        .filter((p) => !needle || p.deviceId.toLowerCase().includes(needle))
        .sort((a, b) => byId(a.deviceId, b.deviceId));
      const page = all.slice(q.offset, q.offset + q.limit);
      return {
        ...v,
        totalPlans: all.length,
        limit: q.limit,
        offset: q.offset,
        plans: page.map((p) => ({ deviceId: p.deviceId, site: p.site, assetClass: p.assetClass, rules: p.rules.map((r) => ({ ruleId: r.ruleId, kind: r.kind.kind, metric: r.metric, limits: r.prepared.limits })), skipped: p.skipped })),
      };
    },
  );
  endpoint(app, 'GET', '/api/v1/rulesets/:version', { tag: 'rules', summary: 'One ruleset version with its YAML and diff', params: VersionParam, response: Version.extend({ yaml: z.string() }), errors: [404] }, async ({ params: p, reply }) => {
    return (await rules.versions.get(p.version)) ?? reply.code(404).send({ error: 'not_found', message: `no ruleset version ${p.version}` });
  });

  endpoint(app, 'POST', '/api/v1/rulesets/validate', { tag: 'rules', summary: 'Check a ruleset; 422 with every problem and its path', roles: OPERATOR, body: YamlBody, response: z.strictObject({ valid: z.literal(true), name: z.string(), rules: int }), errors: [422] }, ({ body: b, reply }) => {
    const v = rules.validate(b.yaml);
    return v.valid ? { valid: true, name: v.ruleset.name, rules: v.ruleset.rules.length } : reply.code(422).send(invalid(v));
  });

  endpoint(app, 'POST', '/api/v1/rulesets/dry-run', { tag: 'rules', summary: 'What publishing a ruleset would change, changing nothing', roles: OPERATOR, body: YamlBody, response: z.strictObject({ valid: z.literal(true), diff: z.string(), devices: z.array(z.strictObject({ deviceId: z.string(), rules: z.array(z.string()), added: z.array(z.string()), removed: z.array(z.string()), skipped: Skipped })) }), errors: [422] }, async ({ body: b, reply }) => {
    const v = rules.validate(b.yaml);
    if (!v.valid) return reply.code(422).send(invalid(v));
    return { valid: true, ...(await rules.dryRun(b.yaml, v.ruleset)) };
  });

  endpoint(app, 'POST', '/api/v1/rulesets', { tag: 'rules', summary: 'Publish a ruleset version and make it active', roles: OPERATOR, body: PublishBody, response: z.strictObject({ version: int, diff: z.string() }), status: 201, errors: [422] }, ({ body: b, principal, reply }) => {
    const v = rules.validate(b.yaml);
    if (!v.valid) return reply.code(422).send(invalid(v));
    return rules.publish(b.yaml, v.ruleset, principal.name, b.comment);
  });

  endpoint(app, 'POST', '/api/v1/rulesets/:version/activate', { tag: 'rules', summary: 'Make a stored version active again (rollback)', roles: OPERATOR, params: VersionParam, body: ActivateBody, response: z.strictObject({ active: int }), errors: [404] }, async ({ params: p, body: b, principal, reply }) => {
    return (await rules.activate(p.version, principal.name, b.comment)) ? { active: p.version } : reply.code(404).send({ error: 'not_found', message: `no ruleset version ${p.version}` });
  });

  const RuleLead = z.strictObject({ ruleId: z.string(), leadTimes: z.array(z.strictObject({ deviceId: z.string(), hours: hoursOrNull })), falseAlarms: int, falseAlarmDevices: int });
  endpoint(app, 'GET', '/api/v1/rulesets/backtest/last', { tag: 'rules', summary: 'Per rule, the lead times and false alarms of the last backtest of a stored version told the real failures', response: z.strictObject({ last: z.strictObject({ at: int, from: int, to: int, version: int.nullable(), failures: int, rules: z.array(RuleLead) }).nullable() }) }, async () => ({
    last: await rules.lastBacktest(),
  }));

  const IdParam = z.strictObject({ id: z.coerce.number().int().positive() });
  endpoint(app, 'GET', '/api/v1/maintenance-windows', { tag: 'rules', summary: 'Maintenance windows: current (in force or planned, the default), past or all', query: z.strictObject({ state: z.enum(['current', 'past', 'all']).default('current') }), response: z.strictObject({ windows: z.array(MaintenanceWindowSchema) }) }, async ({ query: q }) => ({
    windows: await rules.maintenance.list(q.state, now()),
  }));
  endpoint(app, 'POST', '/api/v1/maintenance-windows', { tag: 'rules', summary: 'Plan maintenance: findings held back and baselines frozen for what it covers until it ends', roles: OPERATOR, body: MaintenanceInputSchema, response: MaintenanceWindowSchema, status: 201, errors: [422] }, async ({ body: b, principal, reply }) => {
    const w = await rules.planMaintenance(b, principal.name);
    return 'problem' in w ? reply.code(422).send({ error: 'invalid_window', message: w.problem }) : w;
  });
  endpoint(app, 'DELETE', '/api/v1/maintenance-windows/:id', { tag: 'rules', summary: 'End a maintenance window now (or cancel one not yet begun)', roles: OPERATOR, params: IdParam, response: MaintenanceWindowSchema, errors: [404] }, async ({ params: p, principal, reply }) => {
    return (await rules.endMaintenance(p.id, principal.name)) ?? reply.code(404).send({ error: 'not_found', message: `no maintenance window ${p.id}` });
  });

  endpoint(app, 'POST', '/api/v1/rulesets/backtest', { tag: 'rules', summary: 'Run a ruleset (and the active one) over stored history', roles: OPERATOR, body: BacktestBody, response: z.strictObject({ from: int, to: int, candidate: Run, active: Run.optional() }), errors: [404, 422] }, async ({ body: b, reply }) => {
    let candidate;
    if (b.yaml) {
      const v = rules.validate(b.yaml);
      if (!v.valid) return reply.code(422).send(invalid(v));
      candidate = v.ruleset;
    } else if (b.version) {
      const stored = await rules.versions.get(b.version);
      if (!stored) return reply.code(404).send({ error: 'not_found', message: `no ruleset version ${b.version}` });
      const v = rules.validate(stored.yaml);
      if (!v.valid) return reply.code(422).send(invalid(v));
      candidate = v.ruleset;
    }
    const to = b.to ?? now();
    const from = b.from ?? to - b.days * DAY;
    if (!(from < to)) return reply.code(400).send({ error: 'bad_request', message: 'from must be before to' });
    const truth = b.truth?.map((t) => ({ deviceId: t.deviceId, failedAt: t.failedAt, fault: t.fault ?? null }));
    return { from, to, ...(await rules.backtest({ from, to, devices: b.devices, compare: b.compare, limit: b.limit, version: b.version, truth }, candidate)) };
  });
}
