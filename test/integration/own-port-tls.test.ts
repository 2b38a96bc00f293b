import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { ownPortService } from '../../core/index.ts';
import { issueCertificate, makeAuthority, writeIssued } from '../../core/runtime/pki.ts';
import { tempDir } from '../helpers/tmp.ts';

function get(url: string, ca?: string): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, ca ? { ca } : {}, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

// A server worker's own port (where the other servers reach this very worker) speaks TLS when the
// API does: the same certificate, the same routes, and no plain HTTP on it.
describe("a worker's own port with TLS", () => {
  const tmp = tempDir();
  const ca = makeAuthority('Own-port CA');
  const files = writeIssued(join(tmp.dir, 'tls'), 'server', issueCertificate(ca, { cn: 'localhost', hosts: ['localhost', '127.0.0.1'], usage: 'server' }));
  const app = Fastify();
  app.get('/api/v1/ping', async () => ({ pong: true }));
  const own = ownPortService(app, '127.0.0.1', files);
  afterAll(async () => {
    await own.stop();
    await app.close();
    tmp.cleanup();
  });

  it('answers the app over HTTPS with the configured certificate, and refuses plain HTTP', async () => {
    await app.ready();
    await own.start();
    const port = own.address()!.port;
    expect(port).toBeGreaterThan(0);
    expect(await get(`https://127.0.0.1:${port}/api/v1/ping`, ca.certPem)).toEqual({ status: 200, body: '{"pong":true}' });
    // A client that does not trust the CA is turned away by the handshake.
    expect(await get(`https://127.0.0.1:${port}/api/v1/ping`)).toMatch(/self[- ]signed|unable to verify|certificate/i);
    const plain = await fetch(`http://127.0.0.1:${port}/api/v1/ping`).then((r) => r.status).catch((err: Error) => err.message);
    expect(plain).not.toBe(200);
  });
});
