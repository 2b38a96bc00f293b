import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry, parseConfig, systemClock } from '../../core/index.ts';
import { buildGateway, GatewayConfigSchema } from '../../gateway/index.ts';
import { GATEWAY_PASSWORD, gatewayConfigObject, testLogger } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

// A gateway whose site broker port is taken must fail its start with the reason, close what it opened,
// and leave nothing running that later touches the closed outbox (its status tick once did, a second
// later, and took the whole process down with "The database connection is not open").
describe('a gateway that cannot start', () => {
  const tmp = tempDir();
  const holder = createServer();
  afterAll(async () => {
    await new Promise((r) => holder.close(r));
    tmp.cleanup();
  });

  it('rejects with the port in use, and nothing fires after the failed start', async () => {
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    const config = parseConfig(GatewayConfigSchema, gatewayConfigObject({ dataDir: tmp.dir, uplinkUrl: 'mqtt://127.0.0.1:1', localPort: port }), { GW_PASSWORD: GATEWAY_PASSWORD });
    const gateway = buildGateway(config, { log: testLogger(), clock: systemClock, registry: createRegistry() });
    const stats = gateway.outbox.stats.bind(gateway.outbox);
    let readsAfterClose = 0;
    let failed = false;
    gateway.outbox.stats = () => {
      if (failed) readsAfterClose++;
      return stats();
    };
    await expect(gateway.start()).rejects.toThrow(/EADDRINUSE/);
    failed = true;
    await new Promise((r) => setTimeout(r, 2500)); // the status tick runs every second
    expect(readsAfterClose).toBe(0);
  });
});
