import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'mqtt';
import { stringify } from 'yaml';
import { createRegistry, parseConfig, systemClock } from '../../core/index.ts';
import { GatewayConfigSchema, buildGateway, type Gateway } from '../../gateway/index.ts';
import { VigilProcess } from '../helpers/child.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, SITE, type ServerHandle, gatewayConfigObject, startServer, testLogger } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { Victoria } from '../helpers/victoria.ts';

interface GatewayView {
  gatewayId: string;
  state: string;
  outbox?: unknown;
}
const gatewayView = async (srv: ServerHandle) => ((await (await fetch(`${srv.httpUrl}/api/v1/gateways`)).json()) as { gateways: GatewayView[] }).gateways.find((g) => g.gatewayId === GATEWAY_ID);
const gatewayState = async (srv: ServerHandle) => (await gatewayView(srv))?.state;

describe('the gateway subscribing to an existing site broker (Mosquitto), and its state topic', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  const site = new Mosquitto([{ username: 'site-user', password: 'site-password' }], 'user site-user\ntopic readwrite #\n');
  let srv: ServerHandle;
  let gw: Gateway;

  beforeAll(async () => {
    await vm.start();
    await site.start();
    srv = await startServer({ dataDir: join(tmp.dir, 'server'), influxUrl: vm.url });
  });

  afterAll(async () => {
    await gw?.stop();
    await srv?.server.stop();
    await site.destroy();
    await vm.destroy();
    tmp.cleanup();
  });

  it('takes sensor readings from the site broker at QoS 1 and says online, then offline on a clean stop', async () => {
    const raw = gatewayConfigObject({ dataDir: join(tmp.dir, 'gw'), uplinkUrl: srv.brokerUrl });
    raw.drivers = [
      {
        kind: 'mqtt-device',
        id: 'site',
        broker: { mode: 'external', url: site.url, username: 'site-user', password: '${SITE_PASSWORD}', clientId: 'vigil-gw-site' },
        topics: [{ pattern: 'plant/{device}/{metric}' }],
      } as unknown as (typeof raw.drivers)[number],
    ];
    // The gateway names pump-1's equipment; the server's ruleset names none, so the gateway's word counts.
    raw.devices = raw.devices.map((d) => (d.id === 'pump-1' ? { ...d, model: 'KP-40', firmware: '3.2', installedAt: '2024-05-01' } : d));
    const config = parseConfig(GatewayConfigSchema, raw, { GW_PASSWORD: GATEWAY_PASSWORD, SITE_PASSWORD: 'site-password' });
    gw = buildGateway(config, { log: testLogger(), clock: systemClock, registry: createRegistry() });
    await gw.start();
    await waitFor(async () => (await gatewayState(srv)) === 'online', { message: 'gateway online' });
    await waitFor(async () => (await gatewayView(srv))?.outbox !== undefined, { message: 'the gateway status received' });
    const ticket = await srv.server.tickets.handleFinding(bearingFinding('pump-1', { site: SITE }));
    expect(ticket?.equipment).toEqual({ model: 'KP-40', firmware: '3.2', installedAt: Date.UTC(2024, 4, 1) });
    // It speaks for its own site only: the same device id elsewhere has no model from it.
    expect((await srv.server.tickets.handleFinding(bearingFinding('pump-1', { site: 'plant-z', dedupeKey: 'plant-z/pump-1' })))?.equipment).toBeNull();
    await waitFor(() => gw.drivers[0]!.status().connected === true, { message: 'driver subscribed' });
    await new Promise((r) => setTimeout(r, 200));

    const sensor = connect(site.url, { username: 'site-user', password: 'site-password' });
    await new Promise((r) => sensor.once('connect', r));
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 50; i++) await sensor.publishAsync('plant/pump-1/bearing_temp', JSON.stringify({ value: 40 + i / 10, ts: t0 + i }), { qos: 1 });
    await sensor.endAsync();
    await waitFor(async () => (await vm.count()) >= 50, { message: '50 readings via the site broker' });
    expect(await vm.count()).toBe(50);

    await gw.stop();
    await waitFor(async () => (await gatewayState(srv)) === 'offline', { message: 'gateway offline after a clean stop' });
  });

  it('is marked offline by its last will when it dies without a goodbye (SIGKILL)', async () => {
    const file = join(tmp.dir, 'gw2.yaml');
    writeFileSync(file, stringify(gatewayConfigObject({ dataDir: join(tmp.dir, 'gw2'), uplinkUrl: srv.brokerUrl, localPort: await freePort() })));
    expect(readFileSync(file, 'utf8')).toContain(SITE);
    const p = new VigilProcess(['gateway', '-c', file], { GW_PASSWORD: GATEWAY_PASSWORD }).start();
    await p.waitForOutput(/gateway started/);
    await waitFor(async () => (await gatewayState(srv)) === 'online', { message: 'gateway online' });
    await p.kill('SIGKILL');
    await waitFor(async () => (await gatewayState(srv)) === 'offline', { message: 'last will published' });
  });
});

describe('a gateway with the wrong uplink password', () => {
  it('keeps its readings, says once that its credentials were refused, and counts the attempts', async () => {
    const tmp = tempDir();
    const srv = await startServer({ dataDir: join(tmp.dir, 'server') });
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const { createLogger, metricValue } = await import('../../core/index.ts');
    const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const config = parseConfig(GatewayConfigSchema, gatewayConfigObject({ dataDir: join(tmp.dir, 'gw'), uplinkUrl: srv.brokerUrl }), { GW_PASSWORD: 'not-the-password' });
    const registry = createRegistry();
    const gw = buildGateway(config, { log, clock: systemClock, registry });
    await gw.start();
    await waitFor(async () => (await metricValue(registry, 'vigil_gateway_uplink_connect_failures_total')) >= 3, { message: 'several refused attempts' });
    await gw.stop();
    await srv.server.stop();
    tmp.cleanup();
    const refusals = lines.filter((l) => l.includes('uplink broker refused gateway'));
    expect(refusals).toHaveLength(1);
    expect(lines.join('')).not.toContain('not-the-password');
  });
});
