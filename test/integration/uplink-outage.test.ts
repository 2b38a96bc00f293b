import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { type Registry, metricValue } from '../../core/index.ts';
import type { Gateway } from '../../gateway/index.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, type ServerHandle, publishSamples, sensor, startGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

// The ACL the README gives for running Vigil behind Mosquitto (examples/mosquitto/acl): a gateway
// (username = gateway id) may only write its own topics; the server reads them all.
const ACL = readFileSync(new URL('../../examples/mosquitto/acl', import.meta.url), 'utf8');

describe('failure (a): the uplink broker (Mosquitto) is down for 30 s while sensors keep publishing', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  const mosquitto = new Mosquitto(
    [
      { username: GATEWAY_ID, password: GATEWAY_PASSWORD },
      { username: 'vigil-server', password: 'server-secret-for-tests' },
    ],
    ACL,
  );
  let srv: ServerHandle;
  let gw: { gateway: Gateway; registry: Registry };
  let s: MqttClient;

  beforeAll(async () => {
    await vm.start();
    await mosquitto.start();
    srv = await startServer({
      dataDir: `${tmp.dir}/server`,
      influxUrl: vm.url,
      external: { url: mosquitto.url, username: 'vigil-server', password: 'server-secret-for-tests' },
    });
    const g = await startGateway({ dataDir: `${tmp.dir}/gw`, uplinkUrl: mosquitto.url });
    gw = g;
    s = await sensor(g.localUrl);
  });

  afterAll(async () => {
    await s?.endAsync();
    await gw?.gateway.stop();
    await srv?.server.stop();
    await mosquitto.destroy();
    await vm.destroy();
    tmp.cleanup();
  });

  it('holds readings in the outbox and delivers every one exactly once after the broker returns', async () => {
    const t0 = Date.now() - 3_600_000;
    let expected = await publishSamples(s, 200, { t0 });
    await waitFor(async () => (await srv.ingested()) >= expected, { message: 'first batch through Mosquitto' });

    await mosquitto.stop();
    const outageStart = Date.now();
    // Sensors keep publishing for the whole outage, a sample every 50 ms.
    expected += await publishSamples(s, 580, { t0: t0 + 10_000, everyMs: 50 });
    const held = await metricValue(gw.registry, 'vigil_gateway_outbox_readings');
    expect(held).toBeGreaterThan(0);
    expect(gw.gateway.uplink.state).toBe('offline');
    while (Date.now() - outageStart < 30_000) await new Promise((r) => setTimeout(r, 200));

    await mosquitto.start();
    expected += await publishSamples(s, 100, { t0: t0 + 20_000 });
    await waitFor(async () => (await vm.count()) >= expected, { timeoutMs: 60_000, message: `all ${expected} readings in VictoriaMetrics` });
    // Give a late duplicate the chance to show up before counting exactly.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await vm.count()).toBe(expected);
    expect(await srv.ingested()).toBe(expected);
    expect(await metricValue(gw.registry, 'vigil_gateway_outbox_readings')).toBe(0);
  });
});
