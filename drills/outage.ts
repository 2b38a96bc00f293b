import { join } from 'node:path';
import { createRegistry, hashSecret, metricValue, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { GatewayConfigSchema, buildGateway } from '../gateway/index.ts';
import { ServerConfigSchema, buildServer, type Server } from '../server/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { freePort } from '../test/helpers/net.ts';
import { SamplePublisher, mqttClient, sleep, sqliteBytes, until } from './common.ts';

/**
 * The uplink is down for `seconds` while sensors publish `rate` readings a second; then it returns.
 * Prints what the outbox held and its size on disk per reading, and how long it took to drain.
 */
export async function outageDrill(o: { seconds: number; rate: number }): Promise<Record<string, number>> {
  const tmp = tempDir('vigil-drill-');
  const password = 'drill-gateway-password';
  const brokerPort = await freePort();
  const serverConfig = parseConfig(
    ServerConfigSchema,
    {
      version: 1,
      dataDir: join(tmp.dir, 'server'),
      http: { port: 0, requireAuth: false },
      broker: { mode: 'embedded', port: brokerPort, gateways: [{ gatewayId: 'gw-drill', site: 'drill', passwordHash: hashSecret(password) }] },
    },
    {},
  );
  const gwRegistry = createRegistry();
  const gateway = buildGateway(
    parseConfig(
      GatewayConfigSchema,
      {
        version: 1,
        site: 'drill',
        gatewayId: 'gw-drill',
        dataDir: join(tmp.dir, 'gw'),
        acceptUnknownDevices: true,
        drivers: [{ kind: 'mqtt-device', id: 'local', broker: { mode: 'embedded', port: 0, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}' }] }],
        uplink: { url: `mqtt://127.0.0.1:${brokerPort}`, password: '${P}', reconnect: { initial: '200ms', max: '1000ms' } },
      },
      { P: password },
    ),
    { log: silentLogger(), clock: systemClock, registry: gwRegistry },
  );
  let server: Server | undefined;
  try {
    // The server is down from the start: every reading of the outage waits in the outbox.
    await gateway.start();
    const sensorPort = (gateway.drivers[0]!.status() as { port: number }).port;
    const sensor = await mqttClient(`mqtt://127.0.0.1:${sensorPort}`, { clientId: 'drill-sensor' });
    const pub = new SamplePublisher(sensor, o.rate, 50);
    pub.start();
    await sleep(o.seconds * 1000);
    pub.stop();
    await until(() => pub.acknowledged === pub.sent, 30_000);
    await sleep(500); // the last appends seal and commit
    const stats = gateway.outbox.stats();
    const held = stats.pendingReadings + stats.sealedReadings;
    const bytes = sqliteBytes(join(tmp.dir, 'gw', 'outbox.db'));

    const registry = createRegistry();
    server = await buildServer(serverConfig, { log: silentLogger(), clock: systemClock, registry });
    const back = Date.now();
    await server.start();
    const drained = await until(async () => {
      const s = gateway.outbox.stats();
      return s.pendingReadings + s.sealedReadings === 0;
    }, 600_000);
    const drainS = (Date.now() - back) / 1000;
    const stored = await metricValue(registry, 'vigil_readings_ingested_total');
    await sensor.endAsync();
    return {
      rate: o.rate,
      outage_s: o.seconds,
      sent: pub.sent,
      acknowledged: pub.acknowledged,
      held_readings: held,
      outbox_bytes: bytes,
      bytes_per_reading: Math.round((bytes / Math.max(1, held)) * 10) / 10,
      dropped: stats.droppedReadings,
      drained: drained ? 1 : 0,
      drain_s: Math.round(drainS * 10) / 10,
      stored,
      lost: pub.acknowledged - stored,
    };
  } finally {
    await gateway.stop();
    await server?.stop();
    tmp.cleanup();
  }
}
