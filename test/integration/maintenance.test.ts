import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, asGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';

const MIN = 60_000;
const ADMIN = 'admin-token-for-the-maintenance-test';

describe.each(ENGINES)('maintenance windows: planned work holds findings back and freezes learning, through the API (%s)', (engine) => {
  let database: string | undefined;
  const tmp = tempDir();
  let srv: ServerHandle;
  let gw: Awaited<ReturnType<typeof asGateway>>;
  const tokens: Record<string, string> = {};
  const api = async (method: string, path: string, init?: { body?: unknown; token?: string }) => {
    const res = await fetch(`${srv.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${init?.token ?? ADMIN}`, ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init?.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    // One limit that fires on the first hot reading, so the test needs no ten minutes of sample time.
    const ruleset = `${tmp.dir}/ruleset.yaml`;
    writeFileSync(ruleset, 'version: 1\nname: t\ndefaults: { for: 0, minSamples: 1, clearFor: 0 }\nrules:\n  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80 } }\n');
    srv = await startServer({ database: (database ??= engine === 'postgres' ? await freshDatabase() : undefined), dataDir: `${tmp.dir}/server`, rules: { ruleset }, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    gw = await asGateway(srv.brokerUrl);
    for (const [name, role, extra] of [['ops', 'operator', {}], ['viewer', 'viewer', {}], ['scoped-ops', 'operator', { scope: { sites: ['plant-a'] } }]] as const) {
      const created = await api('POST', '/api/v1/tokens', { body: { name, role, ...extra } });
      expect(created.status).toBe(201);
      tokens[name] = created.body.token as string;
    }
  });

  afterAll(async () => {
    gw?.client.end(true);
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('holds back the findings of a device under planned work, and fires them once the work is over', async () => {
    const now = Date.now();
    const plan = await api('POST', '/api/v1/maintenance-windows', { token: tokens.ops, body: { devices: ['pump-*'], start: now - 60 * MIN, end: new Date(now + 60 * MIN).toISOString(), reason: 'bearing replacement, hot work' } });
    expect(plan.status).toBe(201);
    expect(plan.body).toMatchObject({ devices: ['pump-*'], sites: null, start: now - 60 * MIN, end: now + 60 * MIN, reason: 'bearing replacement, hot work', createdBy: 'ops', endedBy: null });
    // During the work the bearing reads hot (a heat gun, a test run): nothing fires for it.
    const hot = (deviceId: string, ts: number) => ({ deviceId, metric: 'bearing_temp' as const, value: 99, ts });
    await gw.send([hot('pump-1', now - 50 * MIN), hot('fan-1', now - 50 * MIN), hot('pump-2', now - 49 * MIN)]);
    await waitFor(async () => (await api('GET', '/api/v1/findings?device=fan-1')).body.findings.length > 0, { timeoutMs: 10_000, message: 'fan-1 (not under maintenance) fires' });
    expect((await api('GET', '/api/v1/findings?device=pump-1')).body.findings).toEqual([]);
    expect((await api('GET', '/api/v1/findings?device=pump-2')).body.findings).toEqual([]);
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_maintenance_windows_active 1/);
    expect(metrics).toMatch(/vigil_rule_paused_readings_total 2/);

    // The work ends early: the window is ended, and the same condition now fires.
    const list = await api('GET', '/api/v1/maintenance-windows', { token: tokens.viewer });
    expect(list.body.windows.map((w: { id: number }) => w.id)).toEqual([plan.body.id]);
    const ended = await api('DELETE', `/api/v1/maintenance-windows/${plan.body.id}`, { token: tokens.ops });
    expect(ended.status).toBe(200);
    expect(ended.body.endedBy).toBe('ops');
    expect(ended.body.end).toBeLessThanOrEqual(Date.now());
    await gw.send([hot('pump-1', Date.now() + 1000)]);
    await waitFor(async () => (await api('GET', '/api/v1/findings?device=pump-1')).body.findings.length > 0, { timeoutMs: 10_000, message: 'pump-1 fires after the window' });
    expect((await api('GET', '/api/v1/maintenance-windows')).body.windows).toEqual([]);
    expect((await api('GET', '/api/v1/maintenance-windows?state=past')).body.windows).toHaveLength(1);

    const audit = (await api('GET', '/api/v1/audit?action=maintenance')).body.entries as { actor: string; action: string }[];
    expect(audit.map((e) => [e.actor, e.action])).toEqual([['ops', 'maintenance.end'], ['ops', 'maintenance.create']]);
  });

  it('lets a window end by itself', async () => {
    const plan = await api('POST', '/api/v1/maintenance-windows', { token: tokens.ops, body: { sites: ['plant-z'], end: Date.now() + 300, reason: 'short' } });
    expect(plan.status).toBe(201);
    await new Promise((r) => setTimeout(r, 400));
    expect((await api('GET', '/api/v1/maintenance-windows')).body.windows).toEqual([]);
    expect((await api('GET', '/api/v1/maintenance-windows?state=all')).body.windows.map((w: { id: number }) => w.id)).toContain(plan.body.id);
  });

  it('refuses windows that cannot be right, and callers who may not plan them', async () => {
    const end = Date.now() + 60 * MIN;
    const post = (body: unknown, token = tokens.ops) => api('POST', '/api/v1/maintenance-windows', { token, body });
    expect((await post({ end, reason: 'x' })).status).toBe(400); // covers nothing
    expect((await post({ devices: ['p'], end, reason: '' })).status).toBe(400);
    expect((await post({ devices: ['p'], end: 'tomorrow', reason: 'x' })).status).toBe(400);
    expect((await post({ devices: ['p'], end, reason: 'x', colour: 'red' })).status).toBe(400);
    expect((await post({ devices: ['p'], start: end, end: end - MIN, reason: 'x' })).body).toMatchObject({ error: 'invalid_window', message: 'end must be after start' });
    expect((await post({ devices: ['p'], end: Date.now() - MIN, reason: 'x' })).status).toBe(422);
    expect((await post({ devices: ['p'], end: Date.now() + 40 * 86_400_000, reason: 'x' })).body.message).toMatch(/at most 31 days/);
    expect((await post({ classes: ['no-such-class'], end, reason: 'x' })).body.message).toMatch(/unknown asset class no-such-class/);
    expect((await post({ devices: ['p'], end, reason: 'x' }, tokens.viewer)).status).toBe(403);
    // A token scoped to sites cannot hold back another site's findings: refused outright.
    expect((await post({ sites: ['plant-b'], end, reason: 'x' }, tokens['scoped-ops'])).status).toBe(403);
    expect((await api('GET', '/api/v1/maintenance-windows', { token: tokens['scoped-ops'] })).status).toBe(403);
    expect((await api('DELETE', '/api/v1/maintenance-windows/999', { token: tokens.ops })).status).toBe(404);
    expect((await api('DELETE', '/api/v1/maintenance-windows/%31', { token: tokens.viewer })).status).toBe(403);
    expect((await api('DELETE', '/api/v1/maintenance-windows/abc', { token: tokens.ops })).status).toBe(400);
    expect((await api('GET', '/api/v1/maintenance-windows', { token: 'wrong' })).status).toBe(401);
    expect((await api('GET', '/api/v1/maintenance-windows')).body.windows).toEqual([]);
  });
});
