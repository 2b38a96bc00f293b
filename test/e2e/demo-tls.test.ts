import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.ts';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

const TOKEN = 'demo-admin-token-for-the-tls-test';

/** GET over HTTPS trusting only `ca`; resolves with status and body. */
function httpsGet(url: string, ca: Buffer, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('vigil demo --tls: every port speaks TLS only', () => {
  const tmp = tempDir();
  let demo: VigilProcess;
  let ports: { http: number; mqtt: number; sensors: number };
  let ca: Buffer;
  let caPath: string;

  beforeAll(async () => {
    const [http, mqtt, sensors, modbus] = [await freePort(), await freePort(), await freePort(), await freePort()];
    ports = { http, mqtt, sensors };
    demo = new VigilProcess(['demo', '--tls', '--http-port', String(http), '--mqtt-port', String(mqtt), '--sensor-port', String(sensors), '--modbus-port', String(modbus), '--data-dir', join(tmp.dir, 'demo')], {
      VIGIL_TOKEN: TOKEN,
    }).start();
    await demo.waitForOutput(/Vigil demo is running/, 30_000);
    caPath = /TLS CA\s+(\S+)/.exec(demo.output)![1]!;
    ca = readFileSync(caPath);
  });
  afterAll(async () => {
    await demo?.kill('SIGTERM');
    tmp.cleanup();
  });

  it('prints its CA, under the data dir', () => {
    expect(caPath).toBe(join(tmp.dir, 'demo', 'tls', 'ca.pem'));
    expect(demo.output).toMatch(/console\s+https:\/\/127\.0\.0\.1:\d+\/console\//);
  });

  it('serves the API over HTTPS with its CA, and refuses plain HTTP on that port', async () => {
    expect((await httpsGet(`https://127.0.0.1:${ports.http}/api/v1/devices`, ca, TOKEN)).status).toBe(200);
    expect((await httpsGet(`https://127.0.0.1:${ports.http + 1}/api/v1/status`, ca, TOKEN)).status).toBe(200);
    const plain = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`http://127.0.0.1:${ports.http}/healthz`, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.end();
    });
    // Node's TLS server answers a plain-text request with a bare 400 and closes: no API, no data.
    const outcome = await plain.then((s) => s, (err: Error) => err.message);
    expect(outcome === 400 || typeof outcome === 'string').toBe(true);
    expect(outcome).not.toBe(200);
  });

  it('refuses plain MQTT on the broker ports', async () => {
    for (const port of [ports.mqtt, ports.sensors]) {
      const c = connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000 });
      const r = await new Promise<string>((resolve) => {
        c.once('connect', () => resolve('connected'));
        c.once('error', () => resolve('refused'));
        c.once('close', () => resolve('refused'));
      });
      c.end(true);
      expect(r, `port ${port}`).toBe('refused');
    }
  });

  it('takes a reading from mosquitto_pub --cafile on the site broker through to the server', async () => {
    const pub = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients');
    const r = spawnSync(pub, ['-h', '127.0.0.1', '-p', String(ports.sensors), '--cafile', caPath, '-q', '1', '-t', 'sensors/pump-1', '-m', JSON.stringify({ motor_temp: 42.42 })], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    await waitFor(
      async () => {
        const res = await httpsGet(`https://127.0.0.1:${ports.http}/api/v1/devices`, ca, TOKEN);
        const devices = (JSON.parse(res.body) as { devices: { deviceId: string; values: Record<string, { value: number }> }[] }).devices;
        return devices.find((d) => d.deviceId === 'pump-1')?.values.motor_temp?.value === 42.42;
      },
      { message: 'the reading from mosquitto_pub reached the server', timeoutMs: 20_000 },
    );
    // And without the CA, mosquitto_pub does not trust the broker.
    const untrusted = spawnSync(pub, ['-h', '127.0.0.1', '-p', String(ports.sensors), '--capath', '/nonexistent', '-q', '1', '-t', 'sensors/pump-1', '-m', '1'], { encoding: 'utf8', timeout: 10_000 });
    expect(untrusted.status).not.toBe(0);
  });
});
