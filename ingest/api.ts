import { z } from 'zod';
import { type ClusterScope, type FastifyInstance, RejectCodeSchema, askingCluster, callerAuthorization, canSee, endpoint, pageReachError } from '../core/index.ts';
import { DeviceFilterQuery, DeviceStateResponse, GatewayResponse, PageQuery, PipelineResponse } from './api-schemas.ts';
import { type DeviceDirectory, type DeviceState, type GatewayDirectory, byName, deviceMatcher } from './devices.ts';
import type { Quarantine } from './quarantine.ts';

const QuarantineQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  code: RejectCodeSchema.optional(),
});

const DevicesQuery = z.strictObject({ ...DeviceFilterQuery, ...PageQuery });
const DevicesPage = z.strictObject({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), devices: z.array(DeviceStateResponse) });
const Gateways = z.strictObject({ gateways: z.array(GatewayResponse) });

const Quarantined = z.strictObject({
  total: z.number().int(),
  items: z.array(
    z.strictObject({
      id: z.number().int(),
      at: z.number().int(),
      code: RejectCodeSchema,
      reason: z.string(),
      site: z.string().nullable(),
      gatewayId: z.string().nullable(),
      topic: z.string().nullable(),
      details: z.array(z.strictObject({ code: RejectCodeSchema, reason: z.string(), item: z.unknown().optional() })),
      payload: z.string().nullable(),
    }),
  ),
});

export interface IngestApiDeps {
  devices: DeviceDirectory;
  gateways: GatewayDirectory;
  quarantine: Quarantine;
  status(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Several servers sharing the shards: each lists the devices and gateways of its own shards' sites. */
  cluster?: ClusterScope;
}

/** Read-only intake routes under /api/v1. */
export function registerIngestApi(app: FastifyInstance, deps: IngestApiDeps): void {
  endpoint(
    app,
    'GET',
    '/api/v1/devices',
    { tag: 'pipeline', summary: 'Devices seen, with their last values: one page, by site and id; ?site= and ?q= (part of the device id or site) narrow it', query: DevicesQuery, response: DevicesPage, scoped: 'filtered' },
    async ({ query, principal, req, reply }) => {
      const match = deviceMatcher(query);
      const owns = deps.cluster ? (site: string) => deps.cluster!.owns(site) : () => true;
      const keep = (d: DeviceState) => canSee(principal, d.site) && owns(d.site) && match(d);
      const cluster = askingCluster(req, deps.cluster);
      if (!cluster) return { ...deps.devices.page(keep, query.limit, query.offset), limit: query.limit, offset: query.offset };
      const tooDeep = pageReachError(query.offset, query.limit);
      if (tooDeep) return reply.code(400).send({ error: 'bad_request', message: tooDeep });
      // Sites are the servers' own, each list sorted by site and device: the first offset + limit of
      // every server, merged in the same order, hold the page.
      const upTo = query.offset + query.limit;
      const own = deps.devices.page(keep, upTo, 0);
      let total = own.total;
      const rows: z.infer<typeof DeviceStateResponse>[] = [...own.devices];
      const qs = new URLSearchParams({ ...(query.site ? { site: query.site } : {}), ...(query.q ? { q: query.q } : {}), limit: String(upTo), offset: '0' });
      for (const a of await cluster.peers.get(`/api/v1/devices?${qs}`, callerAuthorization(req))) {
        const parsed = DevicesPage.safeParse(a);
        if (!parsed.success) continue;
        total += parsed.data.total;
        rows.push(...parsed.data.devices.filter((d) => canSee(principal, d.site)));
      }
      rows.sort((x, y) => byName(x.site, y.site) || byName(x.deviceId, y.deviceId));
      return { total, limit: query.limit, offset: query.offset, devices: rows.slice(query.offset, upTo) };
    },
  );
  endpoint(app, 'GET', '/api/v1/gateways', { tag: 'pipeline', summary: 'Gateways and their state', response: Gateways, scoped: 'filtered' }, async ({ principal, req }) => {
    const mine = (site: string) => canSee(principal, site) && (!deps.cluster || deps.cluster.owns(site));
    const gateways: z.infer<typeof GatewayResponse>[] = deps.gateways.list().filter((g) => mine(g.site));
    const cluster = askingCluster(req, deps.cluster);
    if (!cluster) return { gateways };
    for (const a of await cluster.peers.get('/api/v1/gateways', callerAuthorization(req))) {
      const parsed = Gateways.safeParse(a);
      if (parsed.success) gateways.push(...parsed.data.gateways.filter((g) => canSee(principal, g.site)));
    }
    return { gateways: gateways.sort((x, y) => byName(x.gatewayId, y.gatewayId) || byName(x.site, y.site)) };
  });
  endpoint(app, 'GET', '/api/v1/pipeline', { tag: 'pipeline', summary: 'Broker, TSDB spool, gateways and webhook outbox', response: PipelineResponse }, () => deps.status());
  endpoint(app, 'GET', '/api/v1/quarantine', { tag: 'pipeline', summary: 'Quarantined payloads with reasons', query: QuarantineQuerySchema, response: Quarantined }, async ({ query }) => deps.quarantine.list(query));
}
