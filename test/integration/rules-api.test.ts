import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.ts';
import { defaultRulesetText } from '../../rules/index.ts';
import { waitFor } from '../helpers/net.ts';
import { SITE, type ServerHandle, asGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ENGINES, freshDatabase } from '../helpers/engines.ts';

const MIN = 60_000;
const ADMIN = 'admin-token-for-the-rules-api-test';

describe.each(ENGINES)('rule engine in the server: findings, rulesets API, restart (%s)', (engine) => {
  let database: string | undefined;
  const tmp = tempDir();
  let srv: ServerHandle;
  let gw: Awaited<ReturnType<typeof asGateway>>;
  const t0 = Date.now() - 4 * 60 * MIN;
  const api = async (path: string, init?: { method?: string; body?: unknown; token?: string }) => {
    const res = await fetch(`${srv.httpUrl}${path}`, {
      method: init?.method ?? 'GET',
      headers: { authorization: `Bearer ${init?.token ?? ADMIN}`, ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init?.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  // Two hours of a normal bearing temperature, then half an hour at 90 °C; a fan with healthy vibration.
  const history: Reading[] = [];
  for (let i = 0; i < 150; i++) {
    history.push({ deviceId: 'pump-1', metric: 'bearing_temp', value: i < 120 ? 50 + (i % 5) * 0.4 : 90 + (i % 3) * 0.1, ts: t0 + i * MIN });
    history.push({ deviceId: 'fan-1', metric: 'vibration_rms', value: 1.5 + (i % 7) * 0.02, ts: t0 + i * MIN });
  }

  beforeAll(async () => {
    srv = await startServer({ database: (database ??= engine === 'postgres' ? await freshDatabase() : undefined), dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    gw = await asGateway(srv.brokerUrl);
    await gw.send(history);
  });

  afterAll(async () => {
    gw?.client.end(true);
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('turns readings into findings, visible at /api/v1/findings, /api/v1/alerts and counted in /metrics', async () => {
    await waitFor(async () => (await api('/api/v1/findings?device=pump-1')).body.findings.length > 0, { timeoutMs: 10_000, message: 'a finding for pump-1' });
    const { body } = await api('/api/v1/findings?device=pump-1');
    const limit = body.findings.find((f: { ruleId: string }) => f.ruleId === 'bearing-temp-limit');
    // The default `for: 10m`: 90 °C from minute 120 fires at minute 130, stamped with the sample time.
    expect(limit).toMatchObject({ event: 'fire', severity: 'warning', fault: 'overheating', dedupeKey: 'pump-1:overheating', site: SITE, at: t0 + 130 * MIN });
    expect(limit.evidence).toMatchObject({ warning: 80, critical: 95 });
    const fan = await api('/api/v1/findings?device=fan-1');
    expect(fan.body.findings).toEqual([]);

    const alerts = await api('/api/v1/alerts?device=pump-1');
    expect(alerts.body.alerts).toContainEqual(expect.objectContaining({ ruleId: 'bearing-temp-limit', phase: 'firing', severity: 'warning' }));
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_findings_total\{event="fire",severity="warning",rule="bearing-temp-limit"\} 1/);
    expect(metrics).toMatch(/vigil_rule_readings_total \d+/);
  });

  it('starts on the default ruleset as version 1 and publishes its JSON Schema', async () => {
    const { body } = await api('/api/v1/rulesets');
    expect(body.active).toBe(1);
    expect(body.versions).toEqual([expect.objectContaining({ version: 1, author: 'system', name: 'default' })]);
    const schema = await api('/api/v1/rulesets/schema');
    expect(schema.body.properties).toHaveProperty('rules');
    const active = await api('/api/v1/rulesets/active');
    expect(active.body.yaml).toBe(defaultRulesetText());
    expect(active.body.plans.find((p: { deviceId: string }) => p.deviceId === 'fan-1').skipped).toContainEqual(expect.objectContaining({ ruleId: 'vibration-zone' }));
    // The plans come a page at a time, by device id, with the total; ?device= narrows them.
    const ids = (active.body.plans as { deviceId: string }[]).map((p) => p.deviceId);
    expect(ids).toEqual([...ids].sort());
    expect(active.body).toMatchObject({ totalPlans: ids.length, limit: 500, offset: 0 });
    const second = await api('/api/v1/rulesets/active?limit=1&offset=1');
    expect(second.body.plans.map((p: { deviceId: string }) => p.deviceId)).toEqual([ids[1]]);
    expect(second.body.totalPlans).toBe(ids.length);
    const one = await api('/api/v1/rulesets/active?device=FAN-1');
    expect(one.body.plans.map((p: { deviceId: string }) => p.deviceId)).toEqual(ids.filter((d) => d.includes('fan-1')));
    for (const bad of ['limit=0', 'limit=5001', 'offset=-1', 'limit=abc', 'colour=red']) expect((await api(`/api/v1/rulesets/active?${bad}`)).status, bad).toBe(400);
  });

  it('rejects bad input with a clear 4xx and changes nothing', async () => {
    const bad = await api('/api/v1/rulesets/validate', { method: 'POST', body: { yaml: 'version: 1\nname: x\nrules:\n  - { id: a, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: hot } }\n' } });
    expect(bad.status).toBe(422);
    expect(bad.body.issues).toContainEqual(expect.objectContaining({ path: 'rules.0.params.warning' }));
    expect((await api('/api/v1/rulesets/validate', { method: 'POST', body: { yaml: 'rules: [' } })).status).toBe(422);
    expect((await api('/api/v1/rulesets', { method: 'POST', body: { yaml: defaultRulesetText(), comment: 'x', colour: 'red' } })).status).toBe(400);
    expect((await api('/api/v1/rulesets', { method: 'POST', body: { yaml: defaultRulesetText() } })).status).toBe(400); // no comment
    expect((await api('/api/v1/rulesets/backtest', { method: 'POST', body: { days: -1 } })).status).toBe(400);
    expect((await api('/api/v1/rulesets/99/activate', { method: 'POST', body: { comment: 'x' } })).status).toBe(404);
    expect((await api('/api/v1/findings?limit=0')).status).toBe(400);
    expect((await api('/api/v1/rulesets')).body.versions).toHaveLength(1);
  });

  const relaxed = defaultRulesetText().replace('params: { warning: 80, critical: 95 }', 'params: { warning: 92, critical: 98 }');

  it('dry-runs and backtests a change over stored history beside the active ruleset', async () => {
    const dry = await api('/api/v1/rulesets/dry-run', { method: 'POST', body: { yaml: relaxed } });
    expect(dry.status).toBe(200);
    expect(dry.body.diff).toMatch(/- +params: \{ warning: 80, critical: 95 \}/);
    expect(dry.body.diff).toMatch(/\+ +params: \{ warning: 92, critical: 98 \}/);
    expect(dry.body.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual(['fan-1', 'pump-1']);

    const bt = await api('/api/v1/rulesets/backtest', { method: 'POST', body: { yaml: relaxed, days: 1 } });
    expect(bt.status).toBe(200);
    const rules = (run: { findings: { ruleId: string; deviceId: string }[] }) => new Set(run.findings.filter((f) => f.deviceId === 'pump-1').map((f) => f.ruleId));
    expect(rules(bt.body.active)).toContain('bearing-temp-limit');
    expect(rules(bt.body.candidate)).not.toContain('bearing-temp-limit');
    expect(bt.body.active.summary.readings).toBe(300); // per-minute rollups of the 300 readings
    // History is kept per minute, so the backtest sees minute means at minute starts.
    const limitFire = bt.body.active.findings.find((f: { ruleId: string; event: string }) => f.ruleId === 'bearing-temp-limit' && f.event === 'fire');
    expect(limitFire.at).toBe(Math.floor((t0 + 130 * MIN) / MIN) * MIN);
    expect(bt.body.active.summary.devices).toContainEqual(expect.objectContaining({ deviceId: 'pump-1', alerts: expect.any(Number) }));
    expect(bt.body.candidate.summary.devices.find((d: { deviceId: string }) => d.deviceId === 'fan-1')).toBeUndefined();

    // Told which device really failed (and when), each run reports its lead time and the false alarms.
    const failedAt = new Date(t0 + 170 * MIN).toISOString();
    const told = await api('/api/v1/rulesets/backtest', { method: 'POST', body: { yaml: relaxed, days: 1, truth: [{ deviceId: 'pump-1', failedAt, fault: 'overheating' }] } });
    expect(told.status).toBe(200);
    const active = told.body.active.leadTimes;
    expect(active.failures[0]).toMatchObject({ deviceId: 'pump-1', fault: 'overheating', firstFindingAt: limitFire.at, leadTimeHours: Math.round(((t0 + 170 * MIN - limitFire.at) / 3_600_000) * 10) / 10 });
    // Compared in milliseconds: lead times are rounded to 0.1 h, and the candidate's first warning (the rate rule) may come a minute later.
    expect(told.body.candidate.leadTimes.failures[0].firstFindingAt).toBeGreaterThan(active.failures[0].firstFindingAt);
    expect((await api('/api/v1/rulesets/backtest', { method: 'POST', body: { days: 1, truth: [{ deviceId: 'pump-1', failedAt: 'soon' }] } })).status).toBe(400);
    // The console's rules page shows, per rule, what the last such backtest of a stored version measured.
    const last = (await api('/api/v1/rulesets/backtest/last')).body.last;
    expect(last).toMatchObject({ version: 1, failures: 1 });
    expect(last.rules).toContainEqual({ ruleId: 'bearing-temp-limit', leadTimes: [{ deviceId: 'pump-1', hours: active.failures[0].leadTimeHours }], falseAlarms: 0, falseAlarmDevices: 0 });
  });

  it('publishes a version live with an audit trail, and rolls back', async () => {
    // The author is the caller's token, not a field anyone could fill in.
    const ops = (await api('/api/v1/tokens', { method: 'POST', body: { name: 'ops@example', role: 'operator' } })).body.token as string;
    const lead = (await api('/api/v1/tokens', { method: 'POST', body: { name: 'lead@example', role: 'operator' } })).body.token as string;
    const viewer = (await api('/api/v1/tokens', { method: 'POST', body: { name: 'watcher', role: 'viewer' } })).body.token as string;
    const refused = await api('/api/v1/rulesets', { method: 'POST', body: { yaml: relaxed, comment: 'not mine to publish' }, token: viewer });
    expect(refused).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await api('/api/v1/rulesets', { method: 'POST', body: { yaml: relaxed, comment: 'x', author: 'someone' }, token: ops })).status).toBe(400);
    expect((await api('/api/v1/rulesets')).body.active).toBe(1);
    const pub = await api('/api/v1/rulesets', { method: 'POST', body: { yaml: relaxed, comment: 'pump runs hot by design' }, token: ops });
    expect(pub.status).toBe(201);
    expect(pub.body.version).toBe(2);
    const list = await api('/api/v1/rulesets');
    expect(list.body.active).toBe(2);
    const v2 = await api('/api/v1/rulesets/2');
    expect(v2.body).toMatchObject({ author: 'ops@example', comment: 'pump runs hot by design' });
    expect(v2.body.diff).toMatch(/warning: 92/);
    // Live, and with the learned state kept: 80 °C would still fire under version 1, but it is below
    // the new warning's clear limit (92 less 10%), so after the default clearFor (30 min) it resolves.
    await gw.send(Array.from({ length: 35 }, (_, i) => ({ deviceId: 'pump-1', metric: 'bearing_temp' as const, value: 80 + (i % 2) * 0.1, ts: t0 + (150 + i) * MIN })));
    await waitFor(async () => (await api('/api/v1/findings?device=pump-1&rule=bearing-temp-limit')).body.findings[0]?.event === 'resolve', { timeoutMs: 5_000, message: 'resolve under the new limit' });

    const back = await api('/api/v1/rulesets/1/activate', { method: 'POST', body: { comment: 'too lax' }, token: lead });
    expect(back.body).toEqual({ active: 1 });
    const audit = (await api('/api/v1/audit?action=ruleset')).body.entries as { actor: string; action: string }[];
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['lead@example', 'ruleset.activate'],
      ['ops@example', 'ruleset.publish'],
      ['system', 'ruleset.publish'],
    ]);
    expect((await api('/api/v1/rulesets')).body.active).toBe(1);
  });

  it('keeps the active version, learned state and alerts across a restart', async () => {
    await gw.send(Array.from({ length: 12 }, (_, i) => ({ deviceId: 'pump-1', metric: 'bearing_temp' as const, value: 90 + (i % 2) * 0.1, ts: t0 + (185 + i) * MIN })));
    await waitFor(async () => (await api('/api/v1/alerts?device=pump-1')).body.alerts.some((a: { ruleId: string; phase: string }) => a.ruleId === 'bearing-temp-limit' && a.phase === 'firing'), {
      timeoutMs: 5_000,
      message: 'firing again under version 1',
    });
    const before = (await api('/api/v1/findings?device=pump-1&limit=1000')).body.findings.length;
    gw.client.end(true);
    await srv.server.stop();

    srv = await startServer({ database: (database ??= engine === 'postgres' ? await freshDatabase() : undefined), dataDir: `${tmp.dir}/server`, http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' }, env: { ADMIN_TOKEN: ADMIN } });
    gw = await asGateway(srv.brokerUrl);
    expect((await api('/api/v1/rulesets')).body.active).toBe(1);
    expect((await api('/api/v1/alerts?device=pump-1')).body.alerts).toContainEqual(expect.objectContaining({ ruleId: 'bearing-temp-limit', phase: 'firing' }));
    await gw.send([{ deviceId: 'pump-1', metric: 'bearing_temp', value: 90.1, ts: t0 + 197 * MIN }]);
    await waitFor(async () => (await fetch(`${srv.httpUrl}/metrics`).then((r) => r.text())).includes('vigil_rule_readings_total 1'), { timeoutMs: 5_000, message: 'reading evaluated' });
    // Still the same alert: no second fire after the restart.
    expect((await api('/api/v1/findings?device=pump-1&limit=1000')).body.findings.length).toBe(before);
  });
});
