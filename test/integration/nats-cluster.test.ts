import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { EnvelopeSchema, gatewayTopic } from '../../core/index.ts';
import { NATS_GATEWAY_USER, NATS_SERVER_USER, NatsCluster } from '../helpers/nats.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, SITE, publishSamples, sensor, startGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

const ENVELOPES = gatewayTopic(SITE, 'gw-1', 'envelope');
const STATE = gatewayTopic(SITE, 'gw-1', 'state');

/**
 * Connects and resolves on CONNACK. `onMessage` is attached before anything arrives: a resumed session's
 * queue comes right behind the CONNACK, often in the same read, before a listener added on resolve.
 */
function open(url: string, opts: IClientOptions, onMessage?: (topic: string, payload: Buffer) => void): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    if (onMessage) client.on('message', onMessage);
    client.once('connect', (p) => resolve({ client, sessionPresent: p.sessionPresent }));
    client.once('error', reject);
    client.once('close', () => reject(new Error(`closed before CONNACK (${url})`)));
  });
}

// The clustered broker for fleets that outgrow one server: three NATS nodes started from
// examples/nats, each one's sessions, queued QoS 1 messages and retained messages replicated to the
// others, so one node can stop without the fleet noticing more than a reconnect.
describe('a three-node NATS cluster (examples/nats)', () => {
  const nats = new NatsCluster();
  const opened: MqttClient[] = [];
  // Like any client, retries: while a stopped node's JetStream roles move, the others refuse a login or two.
  const login = async (node: number, opts: IClientOptions, onMessage?: (topic: string, payload: Buffer) => void) => {
    const o = await waitFor(() => open(nats.urls[node]!, opts, onMessage), { timeoutMs: 30_000, intervalMs: 500, message: `login on node ${node}` });
    opened.push(o.client);
    return o;
  };

  beforeAll(async () => {
    await nats.start();
  }, 90_000);
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.endAsync(true).catch(() => undefined)));
    await nats.destroy();
  });

  it('keeps a persistent session and its QoS 1 messages for a client that returns on another node, with a node down', async () => {
    const first = await login(0, { ...NATS_SERVER_USER, clientId: 'vigil-server-shard-36', clean: false });
    await first.client.subscribeAsync(ENVELOPES, { qos: 1 });
    await first.client.endAsync();

    const gw = await login(1, { ...NATS_GATEWAY_USER, clientId: 'vigil-gw-gw-1' });
    for (let i = 0; i < 50; i++) await gw.client.publishAsync(ENVELOPES, String(i), { qos: 1 });
    await nats.stopNode(0); // the node the session was made on
    // Back for the next tests even when this one fails, so a failure here is reported once.
    onTestFinished(() => nats.startNode(0));

    const got: number[] = [];
    const back = await login(2, { ...NATS_SERVER_USER, clientId: 'vigil-server-shard-36', clean: false }, (_t, m) => got.push(Number(m.toString())));
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => got.length >= 50, { message: `queued messages delivered (${got.length})` });
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await back.client.endAsync();
  });

  it('serves a retained message from any node, and publishes a dead client\'s last will', async () => {
    const gw = await login(0, { ...NATS_GATEWAY_USER, clientId: 'vigil-gw-gw-1/will', will: { topic: STATE, payload: Buffer.from('offline'), qos: 1, retain: true } });
    await gw.client.publishAsync(STATE, 'online', { qos: 1, retain: true });

    const seen: string[] = [];
    const watcher = await login(2, { ...NATS_SERVER_USER, clientId: 'watcher' });
    watcher.client.on('message', (_t, m, p) => seen.push(`${m.toString()}${p.retain ? ' (retained)' : ''}`));
    await watcher.client.subscribeAsync(STATE, { qos: 1 });
    await waitFor(() => seen.includes('online (retained)'), { message: `retained state on another node: ${seen.join(', ')}` });

    gw.client.stream.destroy(); // the link dies without DISCONNECT: the will goes out
    await waitFor(() => seen.includes('offline'), { message: `last will delivered: ${seen.join(', ')}` });
    const late: string[] = [];
    const later = await login(1, { ...NATS_SERVER_USER, clientId: 'later' });
    later.client.on('message', (_t, m) => late.push(m.toString()));
    await later.client.subscribeAsync(STATE, { qos: 1 });
    await waitFor(() => late.includes('offline'), { message: 'the will is the retained state now' });
  });

  it('lets a gateway publish only its own topics and subscribe to nothing (the example\'s permissions)', async () => {
    const seen: string[] = [];
    const srv = await login(1, { ...NATS_SERVER_USER, clientId: 'acl-watch' });
    srv.client.on('message', (t) => seen.push(t));
    await srv.client.subscribeAsync('vigil/v1/#', { qos: 1 });
    const gw = await login(0, { ...NATS_GATEWAY_USER, clientId: 'vigil-gw-gw-1/acl' });
    const other = gatewayTopic('plant-b', 'gw-9', 'envelope');
    // NATS acknowledges and drops a publish it does not permit; the marker after it proves delivery works.
    await gw.client.publishAsync(other, 'forged', { qos: 1 });
    await gw.client.publishAsync(ENVELOPES, 'marker', { qos: 1 });
    await waitFor(() => seen.includes(ENVELOPES), { message: 'own topic delivered' });
    expect(seen).not.toContain(other);
    await expect(gw.client.subscribeAsync('vigil/v1/#', { qos: 1 })).rejects.toThrow();
  });
});

// The whole path over the cluster: a gateway and a server that know every node move on when their
// node stops; every reading arrives once, and the gateway's Envelopes in outbox order.
describe('gateway and server on a NATS cluster: a broker node stops', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  const nats = new NatsCluster();
  let srv: ServerHandle;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let s: MqttClient;
  let watch: MqttClient;
  const seqs: number[] = [];

  beforeAll(async () => {
    await Promise.all([vm.start(), nats.start()]);
    srv = await startServer({ dataDir: `${tmp.dir}/server`, influxUrl: vm.url, external: { url: nats.urls, username: NATS_SERVER_USER.username, password: NATS_SERVER_USER.password } });
    // The gateway lists the nodes in another order than the server, so they start on different nodes.
    gw = await startGateway({ dataDir: `${tmp.dir}/gw`, uplinkUrl: [nats.urls[0]!, nats.urls[2]!, nats.urls[1]!], password: NATS_GATEWAY_USER.password });
    s = await sensor(gw.localUrl);
    watch = (await open(nats.urls[1]!, { ...NATS_SERVER_USER, clientId: 'order-watch', reconnectPeriod: 500 })).client;
    watch.on('message', (_t, m) => seqs.push(EnvelopeSchema.parse(JSON.parse(m.toString())).seq));
    await watch.subscribeAsync(ENVELOPES, { qos: 1 });
  }, 120_000);

  afterAll(async () => {
    await s?.endAsync();
    await watch?.endAsync(true);
    await gw?.gateway.stop();
    await srv?.server.stop();
    await nats.destroy();
    await vm.destroy();
    tmp.cleanup();
  });

  it('delivers every reading exactly once, and the Envelopes in order, across the stop', async () => {
    const t0 = Date.now() - 3_600_000;
    let expected = await publishSamples(s, 200, { t0 });
    await waitFor(async () => (await srv.ingested()) >= expected, { message: 'first readings through the cluster' });
    expect(gw.gateway.uplink.url).toBe(nats.urls[0]);

    const moving = publishSamples(s, 300, { t0: t0 + 10_000, everyMs: 20 });
    await new Promise((r) => setTimeout(r, 1500));
    await nats.stopNode(0); // the gateway's node (and the server's first)
    expected += await moving;
    await waitFor(() => gw.gateway.uplink.state === 'online' && gw.gateway.uplink.url !== nats.urls[0], { timeoutMs: 30_000, message: 'gateway on another node' });
    await waitFor(async () => (await vm.count()) >= expected, { timeoutMs: 60_000, message: `all ${expected} readings in VictoriaMetrics` });
    await nats.startNode(0);
    expected += await publishSamples(s, 100, { t0: t0 + 20_000 });
    await waitFor(async () => (await vm.count()) >= expected, { timeoutMs: 60_000, message: `all ${expected} readings after the node returned` });
    await new Promise((r) => setTimeout(r, 1500)); // a late duplicate would show now
    expect(await vm.count()).toBe(expected);
    expect(await srv.ingested()).toBe(expected);

    // Outbox order: leaving out repeats (an Envelope resent after the stop), each seq is the next one.
    const firsts = seqs.filter((q, i) => seqs.indexOf(q) === i);
    expect(firsts.length).toBeGreaterThan(3);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(firsts.at(-1)! - firsts[0]! + 1).toBe(firsts.length);
  });
});
