import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayClientId, gatewayTopic, metricValue } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, SITE, type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

const BOOT = 'boot-before-the-restart';
const t0 = Date.now() - 3_600_000;
const envelope = (seq: number, value = seq) =>
  JSON.stringify({
    v: 1,
    site: SITE,
    gatewayId: GATEWAY_ID,
    bootId: BOOT,
    seq,
    sentAt: t0,
    readings: Array.from({ length: 10 }, (_, i) => ({ deviceId: 'pump-1', metric: 'vibration_rms', value: value + i / 100, ts: t0 + seq * 10 + i })),
  });

async function publishAll(url: string, payloads: string[]): Promise<void> {
  const c = connect(url, { clientId: gatewayClientId(GATEWAY_ID), username: GATEWAY_ID, password: GATEWAY_PASSWORD, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => (c.once('connect', () => resolve()), c.once('error', reject)));
  for (const p of payloads) await c.publishAsync(gatewayTopic(SITE, GATEWAY_ID, 'envelope'), p, { qos: 1 });
  await c.endAsync();
}

// VictoriaMetrics as the tests run it keeps every sample it is sent, so a second write of a reading
// shows as a second sample: this is a TSDB on which in-memory dedupe was not enough after a restart.
describe('dedupe survives a server restart', () => {
  const tmp = tempDir();
  let vm: Victoria;
  let srv: ServerHandle | undefined;
  beforeAll(async () => {
    vm = await new Victoria().start();
  });
  afterAll(async () => {
    await srv?.server.stop();
    await vm?.destroy();
    tmp.cleanup();
  });

  it('recognises resends after a restart on any TSDB, and quarantines a reused seq with other content', async () => {
    const dataDir = join(tmp.dir, 'server');
    const first = Array.from({ length: 20 }, (_, seq) => envelope(seq));
    srv = await startServer({ dataDir, influxUrl: vm.url });
    await publishAll(srv.brokerUrl, first);
    await waitFor(async () => (await vm.count()) === 200, { message: '200 readings stored' });
    await srv.server.stop();

    srv = await startServer({ dataDir, influxUrl: vm.url });
    // The gateway did not get its PUBACKs before the crash and sends everything again, then goes on;
    // a faulty gateway also reuses seq 5 for other readings.
    await publishAll(srv.brokerUrl, [...first, envelope(5, 99), envelope(20)]);
    await waitFor(async () => (await vm.count()) >= 210, { message: 'the new Envelope stored' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await vm.count()).toBe(210);
    expect(await metricValue(srv.registry, 'vigil_envelopes_total', { outcome: 'duplicate' })).toBe(20);
    expect(await metricValue(srv.registry, 'vigil_envelopes_total', { outcome: 'seq_reused' })).toBe(1);
    const [q] = (await srv.server.quarantine.list({ code: 'seq_reused', limit: 10, offset: 0 })).items;
    expect(q?.payload).toBe(envelope(5, 99));
  });
});
