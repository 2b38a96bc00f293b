import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from 'mqtt';
import { gatewayClientId, gatewayTopic } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, SITE, type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { bearingFinding } from '../helpers/findings.ts';

// The gateway's retained status message now carries what it refused; a gateway (or whoever holds its
// password) must not be able to use it to store unbounded or malformed data on the server.
describe('gateway status messages, as a hostile gateway sends them', () => {
  const tmp = tempDir();
  let srv: ServerHandle;
  let client: MqttClient;
  const topic = gatewayTopic(SITE, GATEWAY_ID, 'status');
  const status = (refusals: unknown) => JSON.stringify({ v: 1, at: Date.now(), devices: [], refusals });
  type View = { gatewayId: string; refusals?: { total: Record<string, number> } };
  const gateway = async () => ((await (await fetch(`${srv.httpUrl}/api/v1/gateways`)).json()) as { gateways: View[] }).gateways.find((g) => g.gatewayId === GATEWAY_ID);

  beforeAll(async () => {
    srv = await startServer({ dataDir: tmp.dir, intake: { maxEnvelopeBytes: 65_536 } });
    client = connect(srv.brokerUrl, { username: GATEWAY_ID, password: GATEWAY_PASSWORD, clientId: `${gatewayClientId(GATEWAY_ID)}/status`, reconnectPeriod: 0 });
    await new Promise((r) => client.once('connect', r));
  });
  afterAll(async () => {
    await client?.endAsync();
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('keeps a well-formed report of refusals for the pipeline page', async () => {
    await client.publishAsync(topic, status({ total: { unknown_device: 3 }, recent: [{ at: Date.now(), code: 'unknown_device', message: 'device ghost-9 is not configured on this gateway', driver: 'site', deviceId: 'ghost-9' }] }), { qos: 1 });
    await waitFor(async () => (await gateway())?.refusals?.total.unknown_device === 3, { message: 'refusals kept' });
  });

  it('quarantines a flood of refusal codes, an oversized message and an overlong text, and keeps the last good report', async () => {
    const flood = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`code-${i}`, 1]));
    await client.publishAsync(topic, status({ total: flood, recent: [] }), { qos: 1 });
    await client.publishAsync(topic, status({ total: {}, recent: [{ at: 1, code: 'x', message: 'm'.repeat(100_000), driver: 'd' }] }), { qos: 1 });
    await client.publishAsync(topic, status({ total: {}, recent: [{ at: 1, code: 'x', message: 'm'.repeat(301), driver: 'd' }] }), { qos: 1 });
    await client.publishAsync(topic, status({ total: {}, recent: Array.from({ length: 21 }, () => ({ at: 1, code: 'x', message: 'm', driver: 'd' })) }), { qos: 1 });
    await waitFor(async () => (await srv.server.quarantine.list({ limit: 10, offset: 0 })).total >= 4, { message: 'four status messages quarantined' });
    const codes = (await srv.server.quarantine.list({ limit: 10, offset: 0 })).items.map((i) => i.code).sort();
    expect(codes).toEqual(['bad_envelope', 'bad_envelope', 'bad_envelope', 'too_large']);
    expect((await gateway())?.refusals).toMatchObject({ total: { unknown_device: 3 } });
    expect((await fetch(`${srv.httpUrl}/healthz`)).status).toBe(200);
  });

  it('quarantines equipment lists that are malformed or too long, and keeps what a good one said', async () => {
    const send = (equipment: unknown) => client.publishAsync(topic, JSON.stringify({ v: 1, at: Date.now(), devices: [], equipment }), { qos: 1 });
    await send([{ id: 'pump-1', model: 'KP-40' }]);
    const quarantined = async () => (await srv.server.quarantine.list({ limit: 100, offset: 0 })).total;
    const before = await quarantined();
    await send([{ id: 'pump-1', model: 'm'.repeat(101) }]);
    await send([{ id: 'pump-1', model: 'KP-40', installedAt: 'last spring' }]);
    await send([{ id: 'pump-1', model: 'KP-40', owner: 'x' }]);
    await send(Array.from({ length: 10_001 }, (_, i) => ({ id: `d${i}`, model: 'x' })));
    await waitFor(async () => (await quarantined()) >= before + 4, { message: 'four equipment lists quarantined' });
    const t = await srv.server.tickets.handleFinding(bearingFinding('pump-1', { site: SITE }));
    expect(t?.equipment).toEqual({ model: 'KP-40', firmware: null, installedAt: null });
  });
});
