import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, gatewayClientId, metricValue, parseConfig, systemClock } from '../../core/index.ts';
import { type Gateway, GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { waitFor } from '../helpers/net.ts';
import { GATEWAY_ID, GATEWAY_PASSWORD, type ServerHandle, startServer, testLogger } from '../helpers/pipeline.ts';
import { fixedHeader } from '../helpers/mqtt-frames.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Connects once (no reconnect); resolves with the client or rejects with the CONNACK refusal. */
async function mqttLogin(url: string, opts: IClientOptions): Promise<MqttClient> {
  const c = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Opens a raw TCP connection and resolves when the peer closes it (or after `ms`: 'open'). */
function closedWithin(sock: Socket, ms: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
  });
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined); // resets are what these tests provoke
    s.once('error', reject);
  });
}

const header = fixedHeader;

/** Streams up to `total` bytes of junk after `head`; returns how many were written before the peer closed. */
async function flood(sock: Socket, head: Buffer, total: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 0x41);
  let sent = 0;
  sock.write(head);
  while (sent < total && !sock.destroyed) {
    if (!sock.write(chunk)) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
    sent += chunk.length;
  }
  return sent;
}

describe('server broker: identities bound to client ids, limits before login', () => {
  const tmp = tempDir();
  let srv: ServerHandle;
  beforeAll(async () => {
    srv = await startServer({
      dataDir: `${tmp.dir}/server`,
      moreGateways: ['gw-2', 'gw-3'],
      brokerLimits: { connectTimeoutMs: 500, maxConnectionsPerAddress: 20, failedLoginsPerMinute: 5 },
    });
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });
  const refused = (reason: string) => metricValue(srv.registry, 'vigil_broker_refused_connections_total', { reason });

  it("refuses gateway A under gateway B's client id, and B stays connected", async () => {
    const b = await mqttLogin(srv.brokerUrl, { clientId: gatewayClientId('gw-2'), username: 'gw-2', password: GATEWAY_PASSWORD });
    let bClosed = 0;
    b.on('close', () => bClosed++);
    for (let i = 0; i < 3; i++) {
      await expect(mqttLogin(srv.brokerUrl, { clientId: gatewayClientId('gw-2'), username: GATEWAY_ID, password: GATEWAY_PASSWORD })).rejects.toThrow(/identifier rejected|Identifier rejected/i);
    }
    // Nor any id that is not its own: another's with a suffix, or a made-up one.
    for (const clientId of [`${gatewayClientId('gw-2')}/x`, 'mallory', gatewayClientId('gw-1x')]) {
      await expect(mqttLogin(srv.brokerUrl, { clientId, username: GATEWAY_ID, password: GATEWAY_PASSWORD }), clientId).rejects.toThrow(/identifier rejected/i);
    }
    expect(b.connected).toBe(true);
    expect(bClosed).toBe(0);
    expect(await refused('client_id_not_allowed')).toBeGreaterThanOrEqual(6);
    await b.endAsync();
  });

  it('keeps the first of two instances of one gateway connected instead of letting them flap', async () => {
    const id = gatewayClientId('gw-3');
    const first = await mqttLogin(srv.brokerUrl, { clientId: id, username: 'gw-3', password: GATEWAY_PASSWORD, keepalive: 5 });
    let firstClosed = 0;
    first.on('close', () => firstClosed++);
    // The second instance retries as a gateway would; each try is refused, the first never drops.
    const second = connect(srv.brokerUrl, { clientId: id, username: 'gw-3', password: GATEWAY_PASSWORD, reconnectPeriod: 100, reconnectOnConnackError: true });
    let secondConnects = 0;
    second.on('connect', () => secondConnects++);
    second.on('error', () => undefined);
    await waitFor(async () => (await refused('client_id_in_use')) >= 3, { message: 'second instance refused repeatedly' });
    expect(firstClosed).toBe(0);
    expect(first.connected).toBe(true);
    expect(secondConnects).toBe(0);
    // Once the first leaves, the second takes over.
    await first.endAsync();
    await waitFor(() => secondConnects > 0, { message: 'second instance connects after the first left' });
    await second.endAsync();
  });

  it('closes an unauthenticated 200 MB CONNECT at its header, before the body is buffered', async () => {
    const sock = await rawSocket(srv.server.brokerPort()!);
    const closed = closedWithin(sock, 10_000);
    const sent = await flood(sock, header(1, 200 * 1024 * 1024), 200 * 1024 * 1024);
    expect(await closed).toBe('closed');
    expect(sent).toBeLessThan(200 * 1024 * 1024);
    expect(await refused('packet_too_large')).toBeGreaterThanOrEqual(1);
  });

  it('closes a 200 MB PUBLISH sent after a CONNECT with wrong credentials', async () => {
    const sock = await rawSocket(srv.server.brokerPort()!);
    const closed = closedWithin(sock, 10_000);
    const before = await refused('packet_too_large');
    // CONNECT, MQTT 3.1.1, clean session, username + password flags, keepalive 60
    const id = Buffer.from('vigil-gw-gw-1');
    const user = Buffer.from(GATEWAY_ID);
    const pass = Buffer.from('wrong');
    const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
    const body = Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, 0xc2, 0, 60]), str(id), str(user), str(pass)]);
    sock.write(Buffer.concat([header(1, body.length), body]));
    await flood(sock, header(3, 200 * 1024 * 1024), 50 * 1024 * 1024);
    expect(await closed).toBe('closed');
    expect(await refused('packet_too_large')).toBeGreaterThan(before);
  });

  it('closes a connection that sends no CONNECT within the connect timeout', async () => {
    const sock = await rawSocket(srv.server.brokerPort()!);
    expect(await closedWithin(sock, 5_000)).toBe('closed');
  });

  it('caps connections per address', async () => {
    const socks = await Promise.all(Array.from({ length: 20 }, () => rawSocket(srv.server.brokerPort()!)));
    const extra = await rawSocket(srv.server.brokerPort()!);
    expect(await closedWithin(extra, 2_000)).toBe('closed');
    expect(await refused('too_many_connections')).toBeGreaterThanOrEqual(1);
    for (const s of socks) s.destroy();
    // The server sees the closes a moment later; then the address may connect again.
    await waitFor(async () => {
      const probe = await rawSocket(srv.server.brokerPort()!);
      const r = await closedWithin(probe, 100);
      probe.destroy();
      return r === 'open';
    }, { message: 'the address may connect again once its connections closed' });
  });

  it('turns an address away after repeated failed logins, even with the right password', async () => {
    // Earlier tests may have spent some of this address's failures already (the wrong-password CONNECT).
    const before = (await refused('bad_credentials')) + (await refused('login_throttled'));
    for (let i = 0; i < 5; i++) await expect(mqttLogin(srv.brokerUrl, { clientId: gatewayClientId(GATEWAY_ID), username: GATEWAY_ID, password: `guess-${i}` })).rejects.toThrow();
    await expect(mqttLogin(srv.brokerUrl, { clientId: gatewayClientId(GATEWAY_ID), username: GATEWAY_ID, password: GATEWAY_PASSWORD })).rejects.toThrow();
    expect((await refused('bad_credentials')) + (await refused('login_throttled'))).toBe(before + 6);
    expect(await refused('login_throttled')).toBeGreaterThanOrEqual(1);
  });
});

describe('site broker: per-sensor ACL, device binding, retained limits; gateway API behind tokens', () => {
  const tmp = tempDir();
  let gw: Gateway;
  let url: string;
  const registry = createRegistry();
  const TOKEN = 'gateway-admin-token-for-the-test';
  beforeAll(async () => {
    const config = parseConfig(
      GatewayConfigSchema,
      {
        version: 1,
        site: 'plant-a',
        gatewayId: 'gw-site',
        dataDir: `${tmp.dir}/gw`,
        http: { host: '127.0.0.1', port: 0, apiToken: '${GW_TOKEN}' },
        devices: ['pump-1', 'pump-2'].map((id) => ({ id })),
        drivers: [
          {
            kind: 'mqtt-device',
            id: 'local',
            broker: {
              mode: 'embedded',
              host: '127.0.0.1',
              port: 0,
              users: [
                { username: 'any-sensor', password: '${P1}' },
                { username: 'pump-1-sensor', password: '${P1}', devices: ['pump-1'] },
                { username: 'display', password: '${P1}', publish: [], subscribe: ['sensors/#'] },
              ],
              retained: { maxMessages: 5, maxBytes: 1024 },
            },
            topics: [{ pattern: 'sensors/{device}' }],
          },
        ],
        uplink: { url: 'mqtt://127.0.0.1:9', password: '${P1}', reconnect: { initial: '60000ms', max: '60000ms' } },
      },
      { P1: 'sensor-password', GW_TOKEN: TOKEN },
    );
    gw = buildGateway(config, { log: testLogger(), clock: systemClock, registry });
    await gw.start();
    url = `mqtt://127.0.0.1:${(gw.drivers[0]!.status() as { port: number }).port}`;
  });
  afterAll(async () => {
    await gw?.stop();
    tmp.cleanup();
  });
  const login = (username: string, extra: IClientOptions = {}) => mqttLogin(url, { username, password: 'sensor-password', clientId: `${username}-${Math.random()}`, ...extra });
  const pending = () => gw.outbox.stats().pendingReadings + gw.outbox.stats().sealedReadings;
  const sample = (v: number) => JSON.stringify({ vibration_rms: v });

  it('lets a sensor read nothing by default: #, $SYS/# and sensor topics are refused', async () => {
    const c = await login('any-sensor');
    for (const filter of ['#', '$SYS/#', 'sensors/#', '+/pump-1']) {
      // SUBACK failure 0x80, which MQTT.js turns into an error; the client stays connected.
      await expect(c.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
      expect(c.connected).toBe(true);
    }
    await c.endAsync();
  });

  it('disconnects a sensor that publishes outside its topics, and takes nothing from it', async () => {
    const c = await login('any-sensor');
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const before = pending();
    c.publish('plant/secret', sample(1), { qos: 1 });
    await closed;
    expect(pending()).toBe(before);
    expect(await metricValue(registry, 'vigil_gateway_rejected_total', { driver: 'local', code: 'acl' })).toBeGreaterThanOrEqual(1);
    c.end(true);
  });

  it('holds a sensor tied to pump-1 to pump-1', async () => {
    const c = await login('pump-1-sensor');
    const before = pending();
    await c.publishAsync('sensors/pump-1', sample(2), { qos: 1 });
    expect(pending()).toBe(before + 1);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('sensors/pump-2', sample(3), { qos: 1 });
    await closed;
    expect(pending()).toBe(before + 1);
    c.end(true);
  });

  it('keeps at most the configured retained messages, and still takes their readings', async () => {
    const c = await login('any-sensor');
    const before = pending();
    for (let i = 0; i < 10; i++) await c.publishAsync(`sensors/pump-${(i % 2) + 1}`, sample(i), { qos: 1, retain: true });
    // 2 topics only, so far within limits; now 10 distinct topics (unknown devices are refused as readings but may still be retained)
    expect(pending()).toBe(before + 10);
    await c.endAsync();
    const flooder = await login('any-sensor', { clientId: 'flooder' });
    for (let i = 0; i < 9; i++) await flooder.publishAsync(`sensors/x-${i}`, sample(i), { qos: 1, retain: true });
    await flooder.publishAsync('sensors/pump-1', 'x'.repeat(2000), { qos: 1, retain: true });
    await flooder.endAsync();
    const display = await login('display');
    const got = new Set<string>();
    display.on('message', (topic, _payload, packet) => packet.retain && got.add(topic));
    await display.subscribeAsync('sensors/#', { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(got.size).toBeLessThanOrEqual(5);
    expect(got.size).toBeGreaterThan(0);
    expect(await metricValue(registry, 'vigil_gateway_rejected_total', { driver: 'local', code: 'retained_limit' })).toBeGreaterThanOrEqual(5);
    await display.endAsync();
  });

  it('serves its API only with a token, decided on the matched route', async () => {
    const port = gw.httpAddress()!.port;
    for (const path of ['/api/v1/status', '/%61pi/v1/status', '/api/v1/devices', '/api/v1/tokens']) {
      expect((await rawRequest(port, `GET ${path}`)).status, path).toBe(401);
    }
    expect((await rawRequest(port, 'GET /api/v1/status', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await rawRequest(port, 'GET /healthz')).status).toBe(200);
    expect((await rawRequest(port, 'GET /metrics')).status).toBe(200);
  });
});

describe('embedded broker under a burst on reconnect', () => {
  // Found by the crash drill: with a stream between the socket and aedes, a client that flushed its
  // queued messages after the broker came back never got their acknowledgements.
  it('acknowledges every QoS 1 message a client sent across three broker restarts', async () => {
    const { EmbeddedBroker, silentLogger } = await import('../../core/index.ts');
    const { freePort } = await import('../helpers/net.ts');
    const port = await freePort();
    const make = () => new EmbeddedBroker<true>({ host: '127.0.0.1', port, log: silentLogger(), hooks: { authenticate: () => true, onPublish: () => 'accept', authorizeSubscribe: () => false } });
    let broker = make();
    await broker.start();
    const c = connect(`mqtt://127.0.0.1:${port}`, { clientId: 'burst', clean: false, reconnectPeriod: 100 });
    c.on('error', () => undefined);
    await new Promise<void>((r) => c.once('connect', () => r()));
    let sent = 0;
    let acked = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        sent++;
        c.publish('t', 'x', { qos: 1 }, (err) => {
          if (!err) acked++;
        });
      }
    }, 50);
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 500));
      await broker.stop();
      await new Promise((r) => setTimeout(r, 300));
      broker = make();
      await broker.start();
    }
    clearInterval(timer);
    await waitFor(() => acked === sent, { timeoutMs: 15_000, message: `all ${sent} acknowledged (got ${acked})` });
    await c.endAsync();
    await broker.stop();
  });
});
