import { z } from 'zod';
import { DeviceIdSchema, type FastifyInstance, parseRequest as parse } from '../../core/index.ts';
import { rulesetJsonSchema } from '../rulesets/schema.ts';
import type { RuleService } from './service.ts';

const DAY = 86_400_000;
const MAX_YAML = 512 * 1024;

const TimeSchema = z.union([z.number().int().nonnegative(), z.string().datetime({ offset: true })]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));
const Author = z.string().min(1).max(100).default('api');
const YamlBody = z.strictObject({ yaml: z.string().min(1).max(MAX_YAML) });
const PublishBody = z.strictObject({ yaml: z.string().min(1).max(MAX_YAML), comment: z.string().min(1).max(1000), author: Author });
const ActivateBody = z.strictObject({ comment: z.string().min(1).max(1000), author: Author });
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

/** Findings, alert states and ruleset management under /api/v1. */
export function registerRulesApi(app: FastifyInstance, rules: RuleService, now: () => number): void {
  app.get('/api/v1/findings', async (req, reply) => {
    const q = parse(FindingsQuery, req.query, reply);
    if (!q) return reply;
    return { findings: rules.findings.list({ ...(q.device ? { deviceId: q.device } : {}), ...(q.rule ? { ruleId: q.rule } : {}), since: q.since, after: q.after, limit: q.limit }) };
  });

  app.get('/api/v1/alerts', async (req, reply) => {
    const q = parse(z.strictObject({ device: DeviceIdSchema.optional() }), req.query, reply);
    if (!q) return reply;
    return { alerts: rules.live.alerts(q.device ? { deviceId: q.device } : undefined) };
  });

  app.get('/api/v1/rulesets', async () => ({ active: rules.version, versions: rules.versions.list() }));
  app.get('/api/v1/rulesets/schema', async () => rulesetJsonSchema());
  app.get('/api/v1/rulesets/active', async () => {
    const v = rules.versions.get(rules.version)!;
    return { ...v, plans: rules.live.plans().map((p) => ({ deviceId: p.deviceId, site: p.site, assetClass: p.assetClass, rules: p.rules.map((r) => ({ ruleId: r.ruleId, kind: r.kind.kind, metric: r.metric, limits: r.prepared.limits })), skipped: p.skipped })) };
  });
  app.get('/api/v1/rulesets/:version', async (req, reply) => {
    const p = parse(VersionParam, req.params, reply);
    if (!p) return reply;
    const v = rules.versions.get(p.version);
    return v ?? reply.code(404).send({ error: 'not_found', message: `no ruleset version ${p.version}` });
  });

  app.post('/api/v1/rulesets/validate', async (req, reply) => {
    const b = parse(YamlBody, req.body, reply);
    if (!b) return reply;
    const v = rules.validate(b.yaml);
    return v.valid ? { valid: true, name: v.ruleset.name, rules: v.ruleset.rules.length } : reply.code(422).send(v);
  });

  app.post('/api/v1/rulesets/dry-run', async (req, reply) => {
    const b = parse(YamlBody, req.body, reply);
    if (!b) return reply;
    const v = rules.validate(b.yaml);
    if (!v.valid) return reply.code(422).send(v);
    return { valid: true, ...rules.dryRun(b.yaml, v.ruleset) };
  });

  app.post('/api/v1/rulesets', async (req, reply) => {
    const b = parse(PublishBody, req.body, reply);
    if (!b) return reply;
    const v = rules.validate(b.yaml);
    if (!v.valid) return reply.code(422).send(v);
    return reply.code(201).send(rules.publish(b.yaml, v.ruleset, b.author, b.comment));
  });

  app.post('/api/v1/rulesets/:version/activate', async (req, reply) => {
    const p = parse(VersionParam, req.params, reply);
    const b = p && parse(ActivateBody, req.body, reply);
    if (!p || !b) return reply;
    return rules.activate(p.version, b.author, b.comment) ? { active: p.version } : reply.code(404).send({ error: 'not_found', message: `no ruleset version ${p.version}` });
  });

  app.post('/api/v1/rulesets/backtest', async (req, reply) => {
    const b = parse(BacktestBody, req.body, reply);
    if (!b) return reply;
    let candidate;
    if (b.yaml) {
      const v = rules.validate(b.yaml);
      if (!v.valid) return reply.code(422).send(v);
      candidate = v.ruleset;
    } else if (b.version) {
      const stored = rules.versions.get(b.version);
      if (!stored) return reply.code(404).send({ error: 'not_found', message: `no ruleset version ${b.version}` });
      const v = rules.validate(stored.yaml);
      if (!v.valid) return reply.code(422).send(v);
      candidate = v.ruleset;
    }
    const to = b.to ?? now();
    const from = b.from ?? to - b.days * DAY;
    if (!(from < to)) return reply.code(400).send({ error: 'bad_request', message: 'from must be before to' });
    return { from, to, ...rules.backtest({ from, to, devices: b.devices, compare: b.compare, limit: b.limit, version: b.version }, candidate) };
  });
}
