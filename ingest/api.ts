import { z } from 'zod';
import { type FastifyInstance, RejectCodeSchema, canSee, endpoint } from '../core/index.ts';
import { DeviceFilterQuery, DeviceStateResponse, GatewayResponse, PageQuery, PipelineResponse } from './api-schemas.ts';
import { type DeviceDirectory, type GatewayDirectory, deviceMatcher } from './devices.ts';
import type { Quarantine } from './quarantine.ts';

const QuarantineQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  code: RejectCodeSchema.optional(),
});

const DevicesQuery = z.strictObject({ ...DeviceFilterQuery, ...PageQuery });
const DevicesPage = z.strictObject({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), devices: z.array(DeviceStateResponse) });

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
}

/** Read-only intake routes under /api/v1. */
export function registerIngestApi(app: FastifyInstance, deps: IngestApiDeps): void {
  endpoint(
    app,
    'GET',
    '/api/v1/devices',
    { tag: 'pipeline', summary: 'Devices seen, with their last values: one page, by site and id; ?site= and ?q= (part of the device id or site) narrow it', query: DevicesQuery, response: DevicesPage, scoped: 'filtered' },
    ({ query, principal }) => {
      const match = deviceMatcher(query);
      return { ...deps.devices.page((d) => canSee(principal, d.site) && match(d), query.limit, query.offset), limit: query.limit, offset: query.offset };
    },
  );
  endpoint(app, 'GET', '/api/v1/gateways', { tag: 'pipeline', summary: 'Gateways and their state', response: z.strictObject({ gateways: z.array(GatewayResponse) }), scoped: 'filtered' }, ({ principal }) => ({
    gateways: deps.gateways.list().filter((g) => canSee(principal, g.site)),
  }));
  endpoint(app, 'GET', '/api/v1/pipeline', { tag: 'pipeline', summary: 'Broker, TSDB spool, gateways and webhook outbox', response: PipelineResponse }, () => deps.status());
  endpoint(app, 'GET', '/api/v1/quarantine', { tag: 'pipeline', summary: 'Quarantined payloads with reasons', query: QuarantineQuerySchema, response: Quarantined }, async ({ query }) => deps.quarantine.list(query));
}
