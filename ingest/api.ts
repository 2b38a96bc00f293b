import { z } from 'zod';
import { type FastifyInstance, RejectCodeSchema, parseRequest } from '../core/index.ts';
import type { DeviceDirectory, GatewayDirectory } from './devices.ts';
import type { Quarantine } from './quarantine.ts';

const QuarantineQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  code: RejectCodeSchema.optional(),
});

export interface IngestApiDeps {
  devices: DeviceDirectory;
  gateways: GatewayDirectory;
  quarantine: Quarantine;
  status(): Record<string, unknown>;
}

/** Read-only intake routes under /api/v1. */
export function registerIngestApi(app: FastifyInstance, deps: IngestApiDeps): void {
  app.get('/api/v1/devices', async () => ({ devices: deps.devices.list() }));
  app.get('/api/v1/gateways', async () => ({ gateways: deps.gateways.list() }));
  app.get('/api/v1/pipeline', async () => deps.status());
  app.get('/api/v1/quarantine', async (req, reply) => {
    const q = parseRequest(QuarantineQuerySchema, req.query, reply, 'query');
    return q ? deps.quarantine.list(q) : reply;
  });
}
