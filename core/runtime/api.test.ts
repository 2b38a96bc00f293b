import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RateLimiter, TokenStore } from './access.ts';
import { endpoint, installAccess } from './api.ts';
import { AuditLog } from './audit.ts';
import { ManualClock } from './clock.ts';
import { buildHttp } from './http.ts';
import { silentLogger } from './logger.ts';
import { createRegistry } from './metrics.ts';
import { openDatabase } from './sqlite.ts';

function app(perMinute = 1000) {
  const db = openDatabase(':memory:');
  const clock = new ManualClock();
  const tokens = TokenStore.sqlite(db);
  const audit = AuditLog.sqlite(db);
  const a = buildHttp({ log: silentLogger(), registry: createRegistry() });
  installAccess(a, { tokens, audit, now: () => clock.now(), required: true, rateLimitPerMinute: perMinute });
  let count = 0;
  endpoint(a, 'GET', '/api/v1/thing', { tag: 't', summary: 'read', response: z.strictObject({ count: z.number() }) }, () => ({ count }));
  endpoint(a, 'POST', '/api/v1/thing', { tag: 't', summary: 'write', roles: ['operator'], body: z.strictObject({ by: z.number().int() }), response: z.strictObject({ count: z.number() }) }, ({ body }) => ({ count: (count += body.by) }));
  const token = async (role: 'viewer' | 'operator') => (await tokens.create({ name: role, role, by: 'test', at: clock.now() })).token;
  return { a, clock, tokens, audit, token };
}

describe('API access: tokens, roles, rate limit, audit', () => {
  it('answers 401 without a known token, 403 to a role that may not, and runs the handler only when allowed', async () => {
    const { a, token, audit, tokens } = app();
    const viewer = await token('viewer');
    const operator = await token('operator');
    const post = (t?: string, by: unknown = 1) => a.inject({ method: 'POST', url: '/api/v1/thing', headers: t ? { authorization: `Bearer ${t}` } : {}, payload: { by } });
    expect((await post()).statusCode).toBe(401);
    expect((await post('vgl_nope')).statusCode).toBe(401);
    const denied = await post(viewer);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().message).toMatch(/role viewer may not POST \/api\/v1\/thing; it needs admin, operator/);
    expect((await post(operator, 'x')).statusCode).toBe(400);
    expect((await post(operator, 2)).json()).toEqual({ count: 2 });
    expect((await a.inject({ method: 'GET', url: '/api/v1/thing', headers: { authorization: `Bearer ${viewer}` } })).json()).toEqual({ count: 2 });
    expect((await audit.list({ limit: 10 })).map((e) => [e.actor, e.detail.status])).toEqual([
      ['operator', 200],
      ['operator', 400],
      ['viewer', 403],
    ]);
    await tokens.revoke(1, 0);
    expect((await a.inject({ method: 'GET', url: '/api/v1/thing', headers: { authorization: `Bearer ${viewer}` } })).statusCode).toBe(401);
  });

  it('limits each token to its rate with 429 and Retry-After, refilling with time', async () => {
    const { a, token, clock } = app(3);
    const t = await token('viewer');
    const get = () => a.inject({ method: 'GET', url: '/api/v1/thing', headers: { authorization: `Bearer ${t}` } });
    for (let i = 0; i < 3; i++) expect((await get()).statusCode).toBe(200);
    const limited = await get();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBe(20);
    clock.advance(20_000);
    expect((await get()).statusCode).toBe(200);
  });

  it('keeps the rate limiter bounded: idle callers are forgotten', () => {
    const r = new RateLimiter(60);
    for (let i = 0; i <= 10_001; i++) r.take(`k${i}`, 0);
    expect(r.take('late', 10 * 60_000)).toBe(0);
    expect((r as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThan(100);
  });

  it('refuses a route that declares no access policy, and a handler never runs without a principal', async () => {
    const a = buildHttp({ log: silentLogger(), registry: createRegistry() });
    let ran = 0;
    a.get('/api/v1/forgotten', async () => ({ ran: ++ran }));
    a.get('/open', { config: { access: 'public' } }, async () => ({ ok: true }));
    // An endpoint on an app where nobody installed access: fails closed rather than running as anyone.
    endpoint(a, 'GET', '/api/v1/unguarded', { tag: 't', summary: 'read', response: z.strictObject({ ran: z.number() }) }, () => ({ ran: ++ran }));
    expect((await a.inject({ method: 'GET', url: '/api/v1/forgotten' })).statusCode).toBe(403);
    expect((await a.inject({ method: 'HEAD', url: '/api/v1/forgotten' })).statusCode).toBe(403);
    expect((await a.inject({ method: 'GET', url: '/api/v1/unguarded' })).statusCode).toBe(401);
    expect((await a.inject({ method: 'GET', url: '/open' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
    expect(ran).toBe(0);
  });

  it('rate-limits failed logins by address: the 401s of a token guesser turn into 429s', async () => {
    const { a } = app(5);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await a.inject({ method: 'GET', url: '/api/v1/thing', headers: { authorization: `Bearer vgl_guess${i}` } })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect((await a.inject({ method: 'GET', url: '/api/v1/thing' })).statusCode).toBe(429);
  });

  // The OpenAPI document may not drift: with VIGIL_CHECK_RESPONSES=1 (set for every test run) an
  // answer that does not fit its declared schema, or a status the route does not declare, is a 500.
  it('checks answers against the documented schema and statuses when asked to', async () => {
    const before = process.env.VIGIL_CHECK_RESPONSES;
    process.env.VIGIL_CHECK_RESPONSES = '1';
    try {
      const db = openDatabase(':memory:');
      const a = buildHttp({ log: silentLogger(), registry: createRegistry() });
      installAccess(a, { tokens: TokenStore.sqlite(db), audit: AuditLog.sqlite(db), now: () => 0, required: false, rateLimitPerMinute: 1000 });
      const Out = z.strictObject({ n: z.number() });
      endpoint(a, 'GET', '/api/v1/fits', { tag: 't', summary: 'fits', response: Out }, () => ({ n: 1 }));
      endpoint(a, 'GET', '/api/v1/drifts', { tag: 't', summary: 'drifts', response: Out }, () => ({ n: 'one' }));
      endpoint(a, 'POST', '/api/v1/made', { tag: 't', summary: 'creates', response: Out, status: 201, body: z.strictObject({}) }, () => ({ n: 2 }));
      endpoint(a, 'GET', '/api/v1/secret-404', { tag: 't', summary: 'undeclared 404', response: Out }, ({ reply }) => reply.code(404).send({ error: 'not_found', message: 'x' }));
      endpoint(a, 'GET', '/api/v1/declared-404', { tag: 't', summary: 'declared 404', response: Out, errors: [404] }, ({ reply }) => reply.code(404).send({ error: 'not_found', message: 'x' }));
      expect((await a.inject({ method: 'GET', url: '/api/v1/fits' })).statusCode).toBe(200);
      const drift = await a.inject({ method: 'GET', url: '/api/v1/drifts' });
      expect(drift.statusCode).toBe(500);
      const made = await a.inject({ method: 'POST', url: '/api/v1/made', payload: {} });
      expect([made.statusCode, made.json()]).toEqual([201, { n: 2 }]);
      const hidden = await a.inject({ method: 'GET', url: '/api/v1/secret-404' });
      expect([hidden.statusCode, hidden.json().error]).toEqual([500, 'undocumented_status']);
      expect((await a.inject({ method: 'GET', url: '/api/v1/declared-404' })).statusCode).toBe(404);
    } finally {
      if (before === undefined) delete process.env.VIGIL_CHECK_RESPONSES;
      else process.env.VIGIL_CHECK_RESPONSES = before;
    }
  });
});
