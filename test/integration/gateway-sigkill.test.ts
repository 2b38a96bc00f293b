import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { GATEWAY_PASSWORD, type ServerHandle, distinctPoints, gatewayConfigObject, publishSamples, sensor, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

describe('failure (b): the gateway is killed with SIGKILL and restarted', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let serverPort: number;
  let configFile: string;
  let srv: ServerHandle | undefined;
  const gateways: VigilProcess[] = [];

  const startGatewayProcess = async () => {
    const p = new VigilProcess(['gateway', '-c', configFile], { GW_PASSWORD: GATEWAY_PASSWORD }).start();
    gateways.push(p);
    await p.waitForOutput(/gateway started/);
    return p;
  };

  beforeAll(async () => {
    await vm.start();
    serverPort = await freePort();
    const localPort = await freePort();
    configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, stringify(gatewayConfigObject({ dataDir: join(tmp.dir, 'gw'), uplinkUrl: `mqtt://127.0.0.1:${serverPort}`, localPort })));
  });

  afterAll(async () => {
    for (const g of gateways) await g.kill('SIGKILL');
    await srv?.server.stop();
    await vm.destroy();
    tmp.cleanup();
  });

  it('loses nothing that was in its outbox, nor anything acknowledged to a sensor', async () => {
    const t0 = Date.now() - 3_600_000;
    let gw = await startGatewayProcess();
    const localUrl = `mqtt://127.0.0.1:${await readLocalPort()}`;
    const s = await sensor(localUrl);

    // Phase 1: the server is not there yet; every acknowledged reading sits in the outbox.
    let expected = await publishSamples(s, 300, { t0 });
    expect(await gw.kill('SIGKILL')).toBe(null);
    gw = await startGatewayProcess();

    // Phase 2: the server comes up; while the backlog flows, the gateway is killed again mid-stream.
    srv = await startServer({ dataDir: join(tmp.dir, 'server'), influxUrl: vm.url, brokerPort: serverPort });
    const sending = publishSamples(s, 400, { t0: t0 + 100_000, everyMs: 5 });
    await waitFor(async () => (await srv!.ingested()) > 0, { message: 'backlog starts flowing' });
    await new Promise((r) => setTimeout(r, 500));
    await gw.kill('SIGKILL');
    await startGatewayProcess(); // killed in afterAll
    // The sensor's MQTT client resends whatever the dead gateway had not acknowledged.
    expected += await sending;

    await waitFor(async () => distinctPoints(await vm.export()) >= expected, { timeoutMs: 60_000, message: `${expected} distinct readings` });
    const series = await vm.export();
    expect(distinctPoints(series)).toBe(expected);
    // A reading the gateway stored but could not acknowledge before dying is sent again by its sensor:
    // at-least-once on that hop. InfluxDB overwrites identical points, so what it keeps is exact.
    const raw = series.reduce((n, x) => n + x.values.length, 0);
    expect(raw - expected).toBeLessThan(200);
    await s.endAsync();
  });

  async function readLocalPort(): Promise<number> {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const cfg = parse(readFileSync(configFile, 'utf8')) as { drivers: { broker: { port: number } }[] };
    return cfg.drivers[0]!.broker.port;
  }
});
