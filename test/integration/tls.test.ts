import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect, type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, gatewayClientId, metricValue, parseConfig, systemClock } from '../../core/index.ts';
import { type Authority, type Issued, issueCertificate, makeAuthority, writeIssued } from '../../core/runtime/pki.ts';
import { type Gateway, GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { type Server, ServerConfigSchema, buildServer } from '../../server/index.ts';
import { waitFor } from '../helpers/net.ts';
import { SITE, sensor, testLogger } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

function login(url: string, opts: IClientOptions): Promise<'connected' | string> {
  const c = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, rejectUnauthorized: true, ...opts });
  return new Promise((resolve) => {
    c.once('connect', () => {
      c.end(true);
      resolve('connected');
    });
    c.once('error', (err) => {
      c.end(true);
      resolve(err.message);
    });
    c.once('close', () => resolve('closed'));
  });
}

function httpsStatus(url: string, ca: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

describe('TLS on every hop: mutual TLS for gateways, refusals, certificates reloaded without a restart', () => {
  const tmp = tempDir();
  let ca: Authority;
  let files: { cert: string; key: string };
  let server: Server;
  let gateway: Gateway;
  const registry = createRegistry();
  const gwId = 'gw-cert';
  let brokerUrl: string;
  let gwCert: Issued;

  beforeAll(async () => {
    ca = makeAuthority('Test CA');
    const dir = join(tmp.dir, 'tls');
    files = writeIssued(dir, 'server', issueCertificate(ca, { cn: 'localhost', hosts: ['localhost', '127.0.0.1'], usage: 'server' }));
    gwCert = issueCertificate(ca, { cn: gwId, usage: 'client' });
    const gwFiles = writeIssued(dir, 'gateway', gwCert);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    server = await buildServer(
      parseConfig(ServerConfigSchema, {
        version: 1,
        dataDir: join(tmp.dir, 'server'),
        http: { host: '127.0.0.1', port: 0, requireAuth: false, tls: files },
        // No password for this gateway: its certificate is its login. The plain port is off.
        broker: { mode: 'embedded', host: '127.0.0.1', plain: false, tls: { port: 0, ...files, ca: caFile }, gateways: [{ gatewayId: gwId, site: SITE }] },
      }, {}),
      { log: testLogger(), clock: systemClock, registry },
    );
    await server.start();
    // 127.0.0.1, not localhost: localhost may resolve to ::1 first, where another process may hold the
    // same port number (it did under the full test run). The certificate names both.
    brokerUrl = `mqtts://127.0.0.1:${server.brokerTlsPort()}`;
    gateway = buildGateway(
      parseConfig(GatewayConfigSchema, {
        version: 1,
        site: SITE,
        gatewayId: gwId,
        dataDir: join(tmp.dir, 'gw'),
        acceptUnknownDevices: true,
        drivers: [{ kind: 'mqtt-device', id: 'local', broker: { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}' }] }],
        uplink: { url: brokerUrl, tls: { ca: caFile, cert: gwFiles.cert, key: gwFiles.key }, maxDelay: '100ms', reconnect: { initial: '200ms', max: '1000ms' } },
      }, {}),
      { log: testLogger(), clock: systemClock, registry: createRegistry() },
    );
    await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await server?.stop();
    tmp.cleanup();
  });

  it('connects a gateway by its certificate, with no password, and its readings arrive', async () => {
    await waitFor(() => gateway.uplink.state === 'online', { message: 'uplink online over mutual TLS' });
    const s = await sensor(`mqtt://127.0.0.1:${(gateway.drivers[0]!.status() as { port: number }).port}`);
    await s.publishAsync('sensors/pump-1', JSON.stringify({ vibration_rms: 1.25 }), { qos: 1 });
    await waitFor(async () => (await metricValue(registry, 'vigil_readings_ingested_total')) >= 1, { message: 'reading ingested' });
    await s.endAsync();
  });

  it('refuses a certificate from another CA, an expired one, and a password for a certificate-only gateway', async () => {
    const other = issueCertificate(makeAuthority('Other CA'), { cn: gwId, usage: 'client' });
    const expired = issueCertificate(ca, { cn: gwId, usage: 'client', notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const base = { ca: ca.certPem, clientId: `${gatewayClientId(gwId)}/probe`, username: gwId };
    expect(await login(brokerUrl, { ...base, cert: other.certPem, key: other.keyPem })).not.toBe('connected');
    expect(await login(brokerUrl, { ...base, cert: expired.certPem, key: expired.keyPem })).not.toBe('connected');
    expect(await metricValue(registry, 'vigil_broker_refused_connections_total', { reason: 'bad_certificate' })).toBeGreaterThanOrEqual(2);
    expect(await login(brokerUrl, { ...base, password: 'anything' })).toMatch(/Not authorized/i);
    // A valid certificate of another identity cannot claim this gateway's client id either.
    const stranger = issueCertificate(ca, { cn: 'gw-stranger', usage: 'client' });
    expect(await login(brokerUrl, { ...base, username: undefined, cert: stranger.certPem, key: stranger.keyPem })).not.toBe('connected');
    // Nor does a plain connection get anywhere: the plain port is off and the TLS port wants a handshake.
    expect(await login(`mqtt://127.0.0.1:${server.brokerTlsPort()}`, { clientId: gatewayClientId(gwId) })).not.toBe('connected');
  });

  it('takes renewed certificates without a restart, on the broker and on HTTPS', async () => {
    const next = makeAuthority('Renewed CA');
    const httpsUrl = `https://127.0.0.1:${server.httpAddress().port}/healthz`;
    expect(await httpsStatus(httpsUrl, ca.certPem)).toBe(200);
    expect(await httpsStatus(httpsUrl, next.certPem)).not.toBe(200);
    const renewed = issueCertificate(next, { cn: 'localhost', hosts: ['localhost', '127.0.0.1'], usage: 'server' });
    writeFileSync(files.key, renewed.keyPem);
    writeFileSync(files.cert, renewed.certPem);
    await waitFor(async () => (await httpsStatus(httpsUrl, next.certPem)) === 200, { message: 'HTTPS serves the renewed certificate', timeoutMs: 10_000 });
    await waitFor(async () => (await login(brokerUrl, { ca: next.certPem, cert: gwCert.certPem, key: gwCert.keyPem, clientId: `${gatewayClientId(gwId)}/renewed`, username: gwId })) === 'connected', {
      message: 'the broker serves the renewed certificate',
      timeoutMs: 10_000,
    });
  });
});
