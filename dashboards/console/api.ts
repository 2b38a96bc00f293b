import { z } from 'zod';
import {
  type ClusterScope,
  DeviceIdSchema,
  type FastifyInstance,
  MetricIdSchema,
  type Principal,
  type Reading,
  SseHub,
  type TicketStatus,
  askingCluster,
  callerAuthorization,
  canSee,
  pageReachError,
  endpoint,
  sseFrame,
} from '../../core/index.ts';
import { type DeviceDirectory, type DeviceState, type GatewayDirectory, type GatewayView, byName, deviceMatcher } from '../../ingest/devices.ts';
import type { HistoryRollups } from '../../ingest/history/rollups.ts';
import { ActiveAlertSchema, type RuleService } from '../../rules/index.ts';
import { DeviceFilterQuery, DeviceStateResponse, GatewayResponse, PageQuery } from '../../ingest/api-schemas.ts';
import type { TicketManager } from '../../tickets/index.ts';
import { type Health, healthOf } from './health.ts';

const DAY = 86_400_000;
const Time = z.coerce.number().int().nonnegative();
const HistoryQuery = z
  .strictObject({
    device: DeviceIdSchema,
    metrics: z
      .string()
      .transform((s) => s.split(',').filter(Boolean))
      .pipe(z.array(MetricIdSchema).min(1).max(10)),
    from: Time.optional(),
    to: Time.optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to' })
  .refine((q) => q.from === undefined || q.to === undefined || q.to - q.from <= 92 * DAY, { message: 'at most 92 days at a time' });

// What the routes answer; documented in OpenAPI and checked against every answer in tests.
const int = z.number().int();
const HealthSchema = z.enum(['ok', 'warning', 'critical', 'offline']);
const TicketBrief = z.strictObject({ id: int, priority: z.string(), title: z.string() });
const FleetDevice = z.strictObject({
  deviceId: z.string(),
  gatewayId: z.string(),
  gatewayState: z.string(),
  health: HealthSchema,
  reasons: z.array(z.string()),
  lastSeen: int,
  lastTs: int,
  values: DeviceStateResponse.shape.values,
  pollState: z.string().nullable(),
  openTickets: z.array(TicketBrief),
});
const HealthCounts = { devices: int, ok: int, warning: int, critical: int, offline: int };
const Fleet = z.strictObject({
  /** Devices that match the filters; `sites` holds one page of them. */
  total: int,
  limit: int,
  offset: int,
  /** Every device the caller may see, by health and site, whatever the filters. */
  summary: z.strictObject({ ...HealthCounts, sites: z.array(z.strictObject({ site: z.string(), ...HealthCounts })) }),
  sites: z.array(z.strictObject({ site: z.string(), devices: z.array(FleetDevice) })),
});
const FleetQuery = z.strictObject({ ...DeviceFilterQuery, health: HealthSchema.optional(), ...PageQuery, limit: PageQuery.limit.unwrap().default(500) });
const OPEN: TicketStatus[] = ['new', 'open', 'acknowledged', 'in_progress', 'reopened'];
const OK = { health: 'ok', reasons: [] } as const;
const Overview = z.strictObject({
  device: DeviceStateResponse,
  gateway: GatewayResponse.nullable(),
  health: HealthSchema,
  reasons: z.array(z.string()),
  assetClass: z.string().nullable(),
  rules: z.array(z.strictObject({ ruleId: z.string(), kind: z.string(), metric: z.string(), fault: z.string(), limits: z.record(z.string(), z.unknown()) })),
  skipped: z.array(z.strictObject({ ruleId: z.string(), metric: z.string(), reason: z.string() })),
  baselines: z.array(z.strictObject({ ruleId: z.string(), metric: z.string(), baseline: z.number(), deviation: z.number(), measure: z.string(), learnedFrom: int })),
  alerts: z.array(ActiveAlertSchema),
  tickets: z.array(z.strictObject({ id: int, title: z.string(), status: z.string(), priority: z.string(), createdAt: int, firstSeenAt: int, resolvedAt: int.nullable() })),
});
const History = z.strictObject({
  device: z.string(),
  from: int,
  to: int,
  series: z.record(z.string(), z.strictObject({ t: z.array(int), mean: z.array(z.number()), min: z.array(z.number()), max: z.array(z.number()) })),
});

export interface ConsoleApiDeps {
  devices: DeviceDirectory;
  gateways: GatewayDirectory;
  rules: RuleService;
  tickets: TicketManager;
  history: HistoryRollups;
  now(): number;
  /** Accepted readings as they arrive, for the live tail. */
  onBatch(listener: (b: { site: string; readings: readonly Reading[] }) => void): void;
  /**
   * Several servers sharing the shards: which sites' devices this server holds (the others' live values
   * are theirs), and how to ask the others.
   */
  cluster?: ClusterScope;
}

function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  return p.toString();
}

type FleetPage = z.infer<typeof Fleet>;

/**
 * The fleet pages of several servers, each holding other sites, as one: counts added, and the devices
 * (each answer's first `offset + limit`, by site) merged in site order and paged again.
 */
export function mergeFleets(answers: readonly FleetPage[], offset: number, limit: number): FleetPage {
  const summary = { devices: 0, ok: 0, warning: 0, critical: 0, offline: 0 };
  const perSite = new Map<string, typeof summary>();
  const rows: { site: string; device: FleetPage['sites'][number]['devices'][number] }[] = [];
  let total = 0;
  for (const a of answers) {
    total += a.total;
    for (const k of Object.keys(summary) as (keyof typeof summary)[]) summary[k] += a.summary[k];
    for (const s of a.summary.sites) {
      const c = perSite.get(s.site) ?? { devices: 0, ok: 0, warning: 0, critical: 0, offline: 0 };
      for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] += s[k];
      perSite.set(s.site, c);
    }
    for (const s of a.sites) for (const device of s.devices) rows.push({ site: s.site, device });
  }
  // Stable: within a site each server's own order stays.
  rows.sort((x, y) => byName(x.site, y.site));
  const sites: FleetPage['sites'] = [];
  for (const r of rows.slice(offset, offset + limit)) {
    if (sites.at(-1)?.site !== r.site) sites.push({ site: r.site, devices: [] });
    sites.at(-1)!.devices.push(r.device);
  }
  const siteList = [...perSite].sort(([a], [b]) => byName(a, b)).map(([site, c]) => ({ site, ...c }));
  return { total, limit, offset, summary: { ...summary, sites: siteList }, sites };
}

/** One frame of the live stream: the latest value of each (device, metric) that moved. */
const LiveFrame = z.array(z.strictObject({ deviceId: z.string(), site: z.string(), metric: z.string(), value: z.number(), ts: int }));

/** Another server's live frame, or undefined when it is not one. */
function parseLive(data: string): z.infer<typeof LiveFrame> | undefined {
  try {
    const parsed = LiveFrame.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Live values go out at most this often, latest per (device, metric): a browser needs no more. */
const LIVE_EVERY_MS = 1000;

/** What the console reads beyond the parts' own APIs: who am I, the fleet at a glance, one device, its history. */
export function registerConsoleApi(app: FastifyInstance, deps: ConsoleApiDeps): void {
  endpoint(app, 'GET', '/api/v1/me', { tag: 'console', summary: 'The caller: token name, role and scope', response: z.strictObject({ name: z.string(), role: z.string(), scope: z.strictObject({ sites: z.array(z.string()), customers: z.array(z.string()) }).nullable() }), scoped: 'global' }, ({ principal }) => ({
    name: principal.name,
    role: principal.role,
    scope: principal.scope ?? null,
  }));
  const siteOf = (deviceId: string) => deps.devices.find(deviceId)?.site;

  endpoint(
    app,
    'GET',
    '/api/v1/fleet',
    { tag: 'console', summary: 'Devices with health (and why), last values, open tickets and gateway state, one page at a time (?site, ?q, ?health); a health count of the whole fleet', query: FleetQuery, response: Fleet, scoped: 'filtered' },
    async ({ query, principal, req, reply }) => {
      const cluster = askingCluster(req, deps.cluster);
      if (!cluster) return localFleet(query, principal, deps.cluster ? (site) => deps.cluster!.owns(site) : () => true);
      // Each server answers for the sites of its shards: ask every one for the first offset + limit,
      // then page the merge (sites sort the same way everywhere).
      const tooDeep = pageReachError(query.offset, query.limit);
      if (tooDeep) return reply.code(400).send({ error: 'bad_request', message: tooDeep });
      const upTo = query.offset + query.limit;
      const wide = { ...query, offset: 0, limit: upTo };
      const answers = [await localFleet(wide, principal, (site) => cluster.owns(site))];
      const qs = queryString({ site: query.site, q: query.q, health: query.health, limit: upTo, offset: 0 });
      for (const a of await cluster.peers.get(`/api/v1/fleet?${qs}`, callerAuthorization(req))) {
        const parsed = Fleet.safeParse(a);
        if (parsed.success) answers.push(parsed.data);
      }
      return mergeFleets(answers, query.offset, query.limit);
    },
  );

  async function localFleet(query: z.infer<typeof FleetQuery>, principal: Principal, owns: (site: string) => boolean): Promise<z.infer<typeof Fleet>> {
      const gateways = new Map(deps.gateways.list().map((g) => [`${g.site}/${g.gatewayId}`, g]));
      const firing = deps.rules.live.firing();
      const match = deviceMatcher(query);
      const summary = { devices: 0, ok: 0, warning: 0, critical: 0, offline: 0 };
      const perSite = new Map<string, typeof summary>();
      const page: { d: DeviceState; gw: GatewayView | undefined; h: { health: Health; reasons: readonly string[] } }[] = [];
      let total = 0;
      // Health is worked out for every device (the counts need it), but only the page is built.
      for (const d of deps.devices.list()) {
        if (!canSee(principal, d.site) || !owns(d.site)) continue;
        const gw = gateways.get(`${d.site}/${d.gatewayId}`);
        const alerts = firing.get(d.deviceId);
        const h = alerts === undefined && d.state !== 'offline' && gw?.state !== 'offline' ? OK : healthOf({ pollState: d.state, gatewayState: gw?.state, alerts: alerts ?? [] });
        let site = perSite.get(d.site);
        if (!site) perSite.set(d.site, (site = { devices: 0, ok: 0, warning: 0, critical: 0, offline: 0 }));
        site.devices++;
        site[h.health]++;
        summary.devices++;
        summary[h.health]++;
        if (!match(d) || (query.health !== undefined && h.health !== query.health)) continue;
        if (total >= query.offset && page.length < query.limit) page.push({ d, gw, h });
        total++;
      }
      const open = new Map<string, { id: number; priority: string; title: string }[]>();
      const ids = page.map((p) => p.d.deviceId);
      for (const t of (await deps.tickets.store.list({ status: OPEN, devices: ids, sites: principal.sites, limit: 10_000, offset: 0 })).tickets) {
        if (t.deviceId === null) continue;
        const list = open.get(t.deviceId) ?? [];
        open.set(t.deviceId, list);
        list.push({ id: t.id, priority: t.priority, title: t.title });
      }
      // The fleet is sorted by site, so a page's devices of one site are consecutive.
      const sites: { site: string; devices: z.infer<typeof FleetDevice>[] }[] = [];
      for (const { d, gw, h } of page) {
        if (sites.at(-1)?.site !== d.site) sites.push({ site: d.site, devices: [] });
        sites.at(-1)!.devices.push({
          deviceId: d.deviceId,
          gatewayId: d.gatewayId,
          gatewayState: gw?.state ?? 'unknown',
          health: h.health,
          reasons: [...h.reasons],
          lastSeen: d.lastSeen,
          lastTs: d.lastTs,
          values: d.values,
          pollState: d.state ?? null,
          openTickets: open.get(d.deviceId) ?? [],
        });
      }
      return { total, limit: query.limit, offset: query.offset, summary: { ...summary, sites: [...perSite].map(([site, c]) => ({ site, ...c })) }, sites };
  }

  endpoint(app, 'GET', '/api/v1/devices/:id/overview', { tag: 'console', summary: 'One device: last values, rules with limits, learned baselines, alerts, tickets, gateway', params: z.strictObject({ id: DeviceIdSchema }), response: Overview, errors: [404], scoped: 'filtered' }, async ({ params, principal, reply, req }) => {
    let device = deps.devices.find(params.id);
    const cluster = askingCluster(req, deps.cluster);
    // A device on another server's shard: that server has its live values, rule plan and baselines.
    if (cluster && (!device || !cluster.owns(device.site))) {
      for (const a of await cluster.peers.get(`/api/v1/devices/${encodeURIComponent(params.id)}/overview`, callerAuthorization(req))) {
        const parsed = Overview.safeParse(a);
        if (parsed.success && canSee(principal, parsed.data.device.site)) return parsed.data;
      }
    }
    if (device && deps.cluster && !deps.cluster.owns(device.site) && !cluster) device = undefined;
    if (!device || !canSee(principal, device.site)) return reply.code(404).send({ error: 'not_found', message: `no device ${params.id} has reported` });
    const plan = deps.rules.live.plan(params.id);
    const gateway = deps.gateways.list().find((g) => g.site === device.site && g.gatewayId === device.gatewayId) ?? null;
    const alerts = deps.rules.live.alerts({ deviceId: params.id });
    return {
      device,
      gateway,
      ...healthOf({ pollState: device.state, gatewayState: gateway?.state, alerts }),
      assetClass: plan?.assetClass ?? null,
      rules: (plan?.rules ?? []).map((r) => ({ ruleId: r.ruleId, kind: r.kind.kind, metric: r.metric, fault: r.fault, limits: r.prepared.limits })),
      skipped: plan?.skipped ?? [],
      baselines: deps.rules.live.baselines(params.id),
      alerts,
      tickets: (await deps.tickets.store.list({ device: params.id, limit: 200, offset: 0 })).tickets.map((t) => ({
        id: t.id,
        title: t.title,
        status: t.status,
        priority: t.priority,
        createdAt: t.createdAt,
        firstSeenAt: t.firstSeenAt,
        resolvedAt: t.resolvedAt,
      })),
    };
  });

  const live = new SseHub<{ device: string | undefined; sites: ReadonlySet<string> | undefined }>(app);
  let latest = new Map<string, { deviceId: string; site: string; metric: string; value: number; ts: number }>();
  let timer: NodeJS.Timeout | undefined;
  deps.onBatch((b) => {
    if (live.size === 0) return;
    for (const r of b.readings) latest.set(`${r.deviceId}\u0000${r.metric}`, { deviceId: r.deviceId, site: b.site, metric: r.metric, value: r.value, ts: r.ts });
    timer ??= setTimeout(() => {
      timer = undefined;
      const items = [...latest.values()];
      latest = new Map();
      live.send((f) => {
        const mine = items.filter((x) => (!f.device || x.deviceId === f.device) && (!f.sites || f.sites.has(x.site)));
        return mine.length > 0 ? sseFrame('readings', mine) : null;
      });
    }, LIVE_EVERY_MS).unref();
  });
  app.addHook('onClose', async () => clearTimeout(timer));
  endpoint(
    app,
    'GET',
    '/api/v1/readings/stream',
    { tag: 'console', summary: 'Live readings (Server-Sent Events, latest per device and metric each second); ?device= for one device', query: z.strictObject({ device: DeviceIdSchema.optional() }), queryToken: true, response: 'event-stream', scoped: 'filtered' },
    ({ query, principal, req, reply }) => {
      const filter = { device: query.device, sites: principal.sites };
      const cluster = askingCluster(req, deps.cluster);
      if (!cluster) return live.open(req, reply, filter);
      // The other servers' devices live there: follow the same stream on each (as the caller, who may see
      // less there than here) and pass their frames on, checked and narrowed to what this caller sees.
      const path = `/api/v1/readings/stream${query.device ? `?device=${encodeURIComponent(query.device)}` : ''}`;
      return live.open(req, reply, filter, [], (write) =>
        cluster.peers.follow(path, callerAuthorization(req), (event, data) => {
          if (event !== 'readings') return;
          const items = parseLive(data)?.filter((x) => (!filter.device || x.deviceId === filter.device) && (!filter.sites || filter.sites.has(x.site)));
          if (items?.length) write(sseFrame('readings', items));
        }),
      );
    },
  );

  endpoint(app, 'GET', '/api/v1/history', { tag: 'console', summary: 'Per-minute history (mean, min, max) of metrics of one device; default the last 7 days', query: HistoryQuery, response: History, errors: [404], scoped: 'filtered' }, async ({ query, principal, reply }) => {
    // The site comes from this server's directory, or (a device on another server's shard) from the
    // stored rows themselves, which carry it: a scoped token sees only rows of its sites either way.
    const known = siteOf(query.device);
    const notFound = () => reply.code(404).send({ error: 'not_found', message: `no device ${query.device} has reported` });
    if (principal.sites && known !== undefined && !canSee(principal, known)) return notFound();
    const to = query.to ?? deps.now();
    const from = query.from ?? to - 7 * DAY;
    const series: Record<string, { t: number[]; mean: number[]; min: number[]; max: number[] }> = {};
    for (const m of query.metrics) series[m] = { t: [], mean: [], min: [], max: [] };
    let hidden = 0;
    for (const r of await deps.history.rows({ from, to, devices: [query.device], metrics: query.metrics })) {
      if (principal.sites && !canSee(principal, r.site)) {
        hidden++;
        continue;
      }
      const s = series[r.metric]!;
      s.t.push(r.minute);
      s.mean.push(r.mean);
      s.min.push(r.min);
      s.max.push(r.max);
    }
    if (principal.sites && known === undefined && (hidden > 0 || !deps.cluster)) return notFound();
    return { device: query.device, from, to, series };
  });
}
