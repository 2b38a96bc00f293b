import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'mqtt';
import { gatewayClientId, gatewayTopic, metricValue } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, SITE, type Pipeline, startPipeline } from '../helpers/pipeline.ts';

describe('failure (d): a barrage of malformed payloads at the gateway and the server', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ intake: { maxEnvelopeBytes: 1024 * 1024 } });
  });
  afterAll(async () => p?.stop());

  it('rejects every bad sensor payload with a reason and loses no good reading', async () => {
    const { vm, gw, gwRegistry, sensor: s } = p;
    const now = Date.now();
    const bad: [string, string | Buffer, string][] = [
      ['sensors/pump-1', '{"vibration_rms": 1.2', 'bad_payload'],
      ['sensors/pump-1/vibration_rms', 'twelve', 'bad_payload'],
      ['sensors/pump-1/vibration_rms', '{"value": "1.2"}', 'bad_value'],
      ['sensors/pump-1/vibration_rms', 'NaN', 'bad_value'],
      ['sensors/pump-1/vibration_rms', 'Infinity', 'bad_value'],
      ['sensors/pump-1/vibration_rms', '1e999', 'bad_value'],
      ['sensors/pump-1/vibration_rms', '{"value": null}', 'bad_value'],
      ['sensors/pump-1', '[1, 2, 3]', 'bad_payload'],
      ['sensors/pump-1', Buffer.alloc(200_000, 0x41), 'too_large'],
      ['sensors/ghost-9', '{"vibration_rms": 1.2}', 'unknown_device'],
      ['sensors/pump-1', '{"spindle_wobble": 1.2}', 'unknown_metric'],
      ['sensors/pump-1/bearing_temp', JSON.stringify({ value: 40, ts: now + 86_400_000 }), 'ts_future'],
      ['sensors/pump-1/bearing_temp', JSON.stringify({ value: 40, ts: Math.floor(now / 1000) }), 'bad_ts'],
      ['sensors/pump-1/bearing_temp', JSON.stringify({ value: 40, ts: 'yesterday' }), 'bad_ts'],
      ['sensors/pump-1/bearing_temp', JSON.stringify({ value: 104, unit: '°F' }), 'bad_unit'],
      ['sensors/pump-1/vibration_rms', JSON.stringify({ value: 1, colour: 'red' }), 'bad_field'],
      ['sensors/pump-1', '', 'bad_payload'],
    ];
    let good = 0;
    for (let round = 0; round < 5; round++) {
      for (const [topic, payload] of bad) {
        await s.publishAsync(topic, payload, { qos: 1 });
        await s.publishAsync('sensors/pump-2', JSON.stringify({ ts: now - 1000 * (good + 1), vibration_rms: 1.5, bearing_temp: 41 }), { qos: 1 });
        good += 2;
      }
    }
    await waitFor(async () => (await vm.count()) >= good, { message: `${good} good readings stored` });
    expect(await vm.count()).toBe(good);
    for (const [, , code] of bad) {
      expect(await metricValue(gwRegistry, 'vigil_gateway_rejected_total', { code }), code).toBeGreaterThanOrEqual(5);
    }
    const status = (await gw.status()) as { recentRejections: { code: string; message: string }[] };
    expect(status.recentRejections.length).toBeGreaterThan(0);
    expect(status.recentRejections.every((r) => r.message.length > 0)).toBe(true);
  });

  it('quarantines bad Envelopes and bad readings with reasons, stores the good ones, and keeps serving', async () => {
    const { vm, srv } = p;
    const gwClient = connect(srv.brokerUrl, { username: GATEWAY_ID, password: GATEWAY_PASSWORD, clientId: `${gatewayClientId(GATEWAY_ID)}/rogue`, reconnectPeriod: 0 });
    await new Promise((r) => gwClient.once('connect', r));
    const topic = gatewayTopic(SITE, GATEWAY_ID, 'envelope');
    const now = Date.now();
    const before = await vm.count();
    const envelope = (seq: number, readings: unknown[]) => JSON.stringify({ v: 1, site: SITE, gatewayId: GATEWAY_ID, bootId: 'barrage', seq, sentAt: now, readings });
    await gwClient.publishAsync(topic, 'not json', { qos: 1 });
    await gwClient.publishAsync(topic, JSON.stringify({ v: 2, hello: 'world' }), { qos: 1 });
    await gwClient.publishAsync(topic, Buffer.alloc(2 * 1024 * 1024, 0x20), { qos: 1 });
    const mixedEnvelope = envelope(1, [
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.5, ts: now - 5000 },
      { deviceId: 'pump-1', metric: 'vibration_rms', value: null, ts: now - 4000 },
      { deviceId: 'pump-1', metric: 'vibration_rms', value: 2.6, ts: now + 7 * 86_400_000 },
      { deviceId: 'pump-1', metric: 'warp_factor', value: 9, ts: now - 3000 },
      { deviceId: 'pump 1', metric: 'bearing_temp', value: 40, ts: now - 3000 },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 40.5, ts: now - 2000 },
    ]);
    await gwClient.publishAsync(topic, mixedEnvelope, { qos: 1 });
    // The same Envelope again (a resend after a lost PUBACK) is acknowledged but not stored twice.
    await gwClient.publishAsync(topic, mixedEnvelope, { qos: 1 });
    // The same seq with other readings is no resend: it is counted and quarantined whole.
    await gwClient.publishAsync(topic, envelope(1, [{ deviceId: 'pump-1', metric: 'vibration_rms', value: 2.5, ts: now - 5000 }]), { qos: 1 });
    await waitFor(async () => (await vm.count()) >= before + 2, { message: 'good readings of the mixed Envelope stored' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await vm.count()).toBe(before + 2);

    const q = (await (await fetch(`${srv.httpUrl}/api/v1/quarantine?limit=50`)).json()) as { total: number; items: { code: string; reason: string; details: { code: string }[] }[] };
    const codes = q.items.map((i) => i.code);
    expect(codes).toEqual(expect.arrayContaining(['bad_payload', 'bad_envelope', 'too_large', 'bad_value', 'seq_reused']));
    const mixed = q.items.find((i) => i.details.length > 0)!;
    expect(mixed.reason).toMatch(/4 of 6 readings refused/);
    expect(mixed.details.map((d) => d.code).sort()).toEqual(['bad_device', 'bad_value', 'ts_future', 'unknown_metric']);
    expect(await metricValue(srv.registry, 'vigil_envelopes_total', { outcome: 'duplicate' })).toBe(1);
    expect(await metricValue(srv.registry, 'vigil_envelopes_total', { outcome: 'seq_reused' })).toBe(1);
    expect((await fetch(`${srv.httpUrl}/api/v1/quarantine?limit=abc`)).status).toBe(400);

    // Publishing as another gateway breaks the ACL: the client is disconnected and nothing is stored.
    const closed = new Promise<void>((r) => gwClient.once('close', () => r()));
    gwClient.publish(gatewayTopic(SITE, 'gw-other', 'envelope'), envelope(2, [{ deviceId: 'pump-1', metric: 'bearing_temp', value: 99, ts: now - 1000 }]), { qos: 1 });
    await closed;
    expect(await metricValue(srv.registry, 'vigil_broker_acl_violations_total')).toBe(1);
    expect((await fetch(`${srv.httpUrl}/healthz`)).status).toBe(200);
    gwClient.end(true);
  });

  it('refuses a gateway with a wrong password', async () => {
    const { srv } = p;
    const c = connect(srv.brokerUrl, { username: GATEWAY_ID, password: 'wrong', reconnectPeriod: 0 });
    const err = await new Promise<Error>((resolve) => c.once('error', resolve));
    expect(err.message).toMatch(/Not authorized/i);
    c.end(true);
  });
});
