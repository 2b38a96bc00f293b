import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, parseConfig, systemClock } from '../../core/index.ts';
import { type DeviceModel, ModbusTcpSimServer, SimSlave, transmitterValues } from '../../firmware-sim/index.ts';
import { type Gateway, GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { loadProfiles } from '../../gateway/modbus/index.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, SITE, type ServerHandle, startServer, testLogger } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

interface ServerDevice {
  deviceId: string;
  state?: string;
  lastError?: string;
  values: Record<string, { value: number }>;
}

describe('Modbus device → gateway → server → VictoriaMetrics', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let srv: ServerHandle;
  let gw: Gateway;
  let device: ModbusTcpSimServer;
  const model: DeviceModel = { id: 'm', seed: 9, vibration: 1.8, temperature: 46, ambient: 22, sensorFaults: [] };
  const T = Date.UTC(2026, 3, 1);

  beforeAll(async () => {
    await vm.start();
    srv = await startServer({ dataDir: join(tmp.dir, 'server'), influxUrl: vm.url });
    device = await new ModbusTcpSimServer([new SimSlave(1, loadProfiles([]).get('vibration-transmitter')!, (t) => transmitterValues(model, t), () => T)]).start();
    const config = parseConfig(
      GatewayConfigSchema,
      {
        version: 1,
        site: SITE,
        gatewayId: GATEWAY_ID,
        dataDir: join(tmp.dir, 'gw'),
        devices: [{ id: 'pump-7' }],
        drivers: [{ kind: 'modbus-tcp', defaults: { pollInterval: '200ms', timeout: '300ms', offlineAfter: 2, maxBackoff: '1000ms' }, devices: [{ id: 'pump-7', host: '127.0.0.1', port: device.port, profile: 'vibration-transmitter' }] }],
        uplink: { url: srv.brokerUrl, password: '${PW}', maxDelay: '100ms' },
      },
      { PW: GATEWAY_PASSWORD },
    );
    gw = buildGateway(config, { log: testLogger(), clock: systemClock, registry: createRegistry() });
    await gw.start();
  });

  afterAll(async () => {
    await gw?.stop();
    await device?.stop();
    await srv?.server.stop();
    await vm.destroy();
    tmp.cleanup();
  });

  const serverDevice = async () =>
    ((await (await fetch(`${srv.httpUrl}/api/v1/devices`)).json()) as { devices: ServerDevice[] }).devices.find((d) => d.deviceId === 'pump-7');

  it('stores the polled values and shows the device online on the server', async () => {
    await waitFor(async () => (await vm.count('{__name__="telemetry_vibration_rms",device="pump-7"}')) >= 3, { message: 'polled values stored' });
    const d = await waitFor(async () => {
      const x = await serverDevice();
      return x?.state === 'online' ? x : undefined;
    }, { message: 'online on the server' });
    expect(d.values.vibration_rms!.value).toBeCloseTo(transmitterValues(model, T).vibration_rms!, 4);
    // The gateway's status message also carries its outbox depth, for the console's pipeline page.
    const gw = ((await (await fetch(`${srv.httpUrl}/api/v1/gateways`)).json()) as { gateways: { outbox?: { readings: number; oldestTs: number | null; at: number } }[] }).gateways[0];
    expect(gw?.outbox).toMatchObject({ readings: expect.any(Number), at: expect.any(Number) });
  });

  it('shows the device offline, with the reason, when it stops answering', async () => {
    await device.stop();
    const d = await waitFor(async () => {
      const x = await serverDevice();
      return x?.state === 'offline' ? x : undefined;
    }, { timeoutMs: 20_000, message: 'offline on the server' });
    expect(d.lastError).toMatch(/not connected|no answer|closed/);
  });
});
