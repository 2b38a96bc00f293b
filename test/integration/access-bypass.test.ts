import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../core/index.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';

const ADMIN = 'admin-token-for-the-access-bypass-test';
const MINT = JSON.stringify({ name: 'minted', role: 'admin' });
const JSON_BODY = { 'content-type': 'application/json' };

// The attack that minted an admin token: the access hook tested the raw URL's `/api/` prefix while the
// router decoded `%61` to `a`. Every spelling below reaches the server byte for byte (raw socket).
describe.each(ENGINES)('API access is decided on the matched route, over a real socket (%s)', (engine) => {
  let database: string | undefined;
  const tmp = tempDir();
  let srv: ServerHandle;
  let port: number;
  beforeAll(async () => {
    srv = await startServer({ database: (database ??= engine === 'postgres' ? await freshDatabase() : undefined), dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}', rateLimit: { perMinute: 100_000 } }, env: { ADMIN_TOKEN: ADMIN } });
    port = srv.server.httpAddress().port;
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  const spellings = [
    '/api/v1/tokens',
    '/%61pi/v1/tokens',
    '/%41PI/v1/tokens',
    '/api/v1/%74okens',
    '//api/v1/tokens',
    '/API/v1/tokens',
    '/./api/v1/tokens',
    '/x/../api/v1/tokens',
    '/api/v1/x/../tokens',
    '/api/v1/x/..%2ftokens',
    '/api%2fv1%2ftokens',
    '/api/v1/tokens?',
    '/api/v1/tokens#frag',
    '/api/v1/tokens/',
    '/api/v1/tokens;x',
    '/%2e/api/v1/tokens',
    'http://127.0.0.1/api/v1/tokens',
  ];

  it.each(spellings)('POST %s without a token mints nothing', async (path) => {
    const before = (await srv.server.tokens.list()).length;
    const res = await rawRequest(port, `POST ${path}`, JSON_BODY, MINT);
    expect(res.status, res.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(res.text).not.toMatch(/vgl_/);
    expect((await srv.server.tokens.list()).length).toBe(before);
  });

  it.each(['GET', 'HEAD', 'OPTIONS'])('%s on the token list without a token is refused, in every spelling', async (method) => {
    for (const path of spellings) {
      const res = await rawRequest(port, `${method} ${path}`);
      expect([401, 404, 400], `${method} ${path}`).toContain(res.status);
      expect(res.text).not.toMatch(/"tokens"/);
    }
  });

  it('refuses every API route in the catalog without a token, also under an encoded prefix', async () => {
    const doc = openApiDocument(srv.server.http, { title: 't', version: '1' }) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.security) continue; // signature routes: they check an HMAC instead (tested in tickets-api)
        const concrete = path.replace(/\{[^}]+\}/g, '1');
        for (const p of [concrete, concrete.replace('/api/', '/%61pi/')]) {
          const res = await rawRequest(port, `${method.toUpperCase()} ${p}`, method === 'get' ? {} : JSON_BODY, method === 'get' ? '' : '{}');
          expect(res.status, `${method} ${p}`).toBe(401);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('audits and rate-limits a call made through an encoded path like any other', async () => {
    const res = await rawRequest(port, 'POST /%61pi/v1/tokens', { ...JSON_BODY, authorization: `Bearer ${ADMIN}` }, JSON.stringify({ name: 'via-encoded', role: 'viewer' }));
    expect(res.status).toBe(201);
    expect((await srv.server.audit.list({ limit: 5 })).map((e) => e.action)).toContain('POST /api/v1/tokens');
  });

  it('serves the public routes without a token and nothing else of the console', async () => {
    for (const path of ['/healthz', '/metrics', '/docs', '/docs/openapi.json']) expect((await rawRequest(port, `GET ${path}`)).status, path).toBe(200);
    for (const path of ['/console/constructor', '/console/__proto__', '/console/toString', '/console/app.js.map', '/console/hasOwnProperty']) {
      expect((await rawRequest(port, `GET ${path}`)).status, path).toBe(404);
    }
  });
});
