import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';
import { DASHBOARDS } from '../../dashboards/grafana/dashboards.ts';

const ingested = async (url: string) => Number(/^vigil_readings_ingested_total (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
const TOKEN = 'demo-admin-token-chosen-by-the-test';

describe('vigil demo (what `npm start` runs), as a user starts it', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let demo: VigilProcess;
  let api: string;
  let startedAt: number;
  let sensorPort = 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const get = async (path: string, token = TOKEN): Promise<any> => (await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const post = async (path: string, body: unknown, token = TOKEN) =>
    fetch(`${api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    const [http, mqttPort, sensors, modbus] = [await freePort(), await freePort(), await freePort(), await freePort()];
    sensorPort = sensors;
    // VictoriaMetrics also scrapes the server's /metrics, as a Prometheus would for the dashboards.
    await vm.start({ scrape: [`127.0.0.1:${http}`] });
    // The gateway's status API takes http + 1; make sure it is free too.
    api = `http://127.0.0.1:${http}`;
    startedAt = Date.now();
    demo = new VigilProcess(['demo', '--http-port', String(http), '--mqtt-port', String(mqttPort), '--sensor-port', String(sensors), '--modbus-port', String(modbus), '--data-dir', join(tmp.dir, 'demo')], {
      INFLUX_URL: vm.url,
      VIGIL_TOKEN: TOKEN,
    }).start();
    await demo.waitForOutput(/Vigil demo is running/, 30_000);
  });

  afterAll(async () => {
    await demo?.kill('SIGKILL');
    await vm.destroy();
    tmp.cleanup();
  });

  it('comes up in under 30 s and says what runs where', () => {
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(demo.output).toMatch(/server API\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\/devices/);
    expect(demo.output).toMatch(/ground truth\s+fan-2: bearing_wear/);
    expect(demo.output).toMatch(/admin token\s+\(from VIGIL_TOKEN\)/);
    expect(demo.output).not.toContain(TOKEN);
  });

  it('requires the token on its API', async () => {
    expect((await fetch(`${api}/api/v1/devices`)).status).toBe(401);
    expect((await fetch(`${api}/api/v1/devices`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    expect((await get('/api/v1/devices')).devices).toBeInstanceOf(Array);
  });

  it('is healthy, and its ingested counter climbs', async () => {
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    const first = await waitFor(() => ingested(api), { message: 'readings ingested' });
    await waitFor(async () => (await ingested(api)) > first, { message: 'ingested counter climbs' });
  });

  it('tracks the simulated fleet, and the wearing bearing shows in kurtosis as the week replays', async () => {
    // Wear starts six days back; by three days back (half-way to failure) impacts have raised kurtosis.
    const devices = await waitFor(
      async () => {
        const body = (await get('/api/v1/devices')) as {
          devices: { deviceId: string; lastTs: number; values: Record<string, { value: number }> }[];
        };
        const fan = body.devices.find((d) => d.deviceId === 'fan-2');
        return body.devices.length === 7 && fan && fan.lastTs > startedAt - 3 * 86_400_000 ? body.devices : undefined;
      },
      { timeoutMs: 40_000, message: 'seven devices, replayed to three days ago' },
    );
    expect(devices.map((d) => d.deviceId).sort()).toEqual(['compressor-4', 'fan-2', 'fan-7', 'motor-5', 'press-6', 'pump-1', 'pump-3']);
    expect((devices.find((d) => d.deviceId === 'press-6') as { state?: string }).state).toBe('online');
    const fan = devices.find((d) => d.deviceId === 'fan-2')!;
    const pump = devices.find((d) => d.deviceId === 'pump-1')!;
    expect(fan.values.vibration_kurtosis!.value).toBeGreaterThan(pump.values.vibration_kurtosis!.value + 2);
  });

  it('raises findings on the wearing bearing (and the stuck sensor), none on the healthy machines', async () => {
    type F = { deviceId: string; ruleId: string; event: string; severity: string; fault: string; at: number };
    const findings = await waitFor(
      async () => {
        const body = (await get('/api/v1/findings?limit=1000')) as { findings: F[] };
        return body.findings.some((f) => f.deviceId === 'pump-3' && f.event === 'resolve') ? body.findings : undefined;
      },
      { timeoutMs: 40_000, message: "findings replayed past pump-3's stuck day" },
    );
    const fan = findings.filter((f) => f.deviceId === 'fan-2' && f.event === 'fire');
    expect(fan.map((f) => f.ruleId)).toContain('kurtosis-baseline');
    // Warned days before the failure the demo announces (one day after start).
    expect(Math.min(...fan.map((f) => f.at))).toBeLessThan(startedAt - 3 * 86_400_000);
    expect(findings.filter((f) => f.deviceId === 'pump-3' && f.event === 'fire').map((f) => f.ruleId)).toEqual(['stuck-sensor']);
    expect(findings.filter((f) => ['pump-1', 'compressor-4', 'motor-5'].includes(f.deviceId))).toEqual([]);
    const alerts = (await get('/api/v1/alerts?device=fan-2')) as { alerts: { phase: string }[] };
    expect(alerts.alerts.some((a) => a.phase === 'firing')).toBe(true);
  });

  it('opens one ticket for the wearing bearing, with priority, deadlines, evidence and a suggested action', async () => {
    const { tickets } = await get('/api/v1/tickets?device=fan-2');
    expect(tickets).toHaveLength(1);
    const t = tickets[0];
    expect(t).toMatchObject({ deviceId: 'fan-2', site: 'plant-a', fault: 'bearing_wear', status: 'open', dispatchGroup: 'default-fan' });
    expect(t.priority).toMatch(/^P[1-4]$/);
    expect(t.respondBy).toBeGreaterThan(startedAt);
    expect(t.resolveBy).toBeGreaterThan(t.respondBy);
    expect(t.suggestedAction).toMatch(/bearing/i);
    expect(t.likelyParts.length).toBeGreaterThan(0);
    expect(t.rules).toContain('kurtosis-baseline');
    expect(t.occurrences).toBeGreaterThanOrEqual(1);
    expect(t.evidence.limitsCrossed.length).toBeGreaterThan(0);
    expect(t.evidence.recent.map((r: { metric: string }) => r.metric)).toContain('vibration_kurtosis');
    expect(Object.keys(t.evidence.baseline)).toContain('vibration_kurtosis');
    // The stuck sensor is a ticket of its own; the healthy machines have none.
    expect((await get('/api/v1/tickets?device=pump-3')).tickets.map((x: { fault: string }) => x.fault)).toEqual(['sensor_fault']);
    expect((await get('/api/v1/tickets?device=pump-1')).total).toBe(0);
  });

  it("resolving the ticket as a false alarm moves its rules' precision", async () => {
    const desk = (await (await post('/api/v1/tokens', { name: 'desk', role: 'service_desk' })).json()) as { token: string };
    const viewer = (await (await post('/api/v1/tokens', { name: 'viewer', role: 'viewer' })).json()) as { token: string };
    const [t] = (await get('/api/v1/tickets?device=fan-2')).tickets;
    const before = (await get('/api/v1/rules/stats')).rules.find((r: { ruleId: string }) => r.ruleId === 'kurtosis-baseline');
    expect(before).toMatchObject({ false_alarm: 0, precision: null });
    expect((await post(`/api/v1/tickets/${t.id}/resolve`, { outcome: 'false_alarm', note: 'no' }, viewer.token)).status).toBe(403);
    const res = await post(`/api/v1/tickets/${t.id}/resolve`, { outcome: 'false_alarm', note: 'bearing checked: fine' }, desk.token);
    expect(res.status).toBe(200);
    const after = (await get('/api/v1/rules/stats')).rules.find((r: { ruleId: string }) => r.ruleId === 'kurtosis-baseline');
    expect(after).toMatchObject({ false_alarm: 1, precision: 0 });
    const history = (await get(`/api/v1/tickets/${t.id}/history`)).events as { type: string; actor: { name: string } }[];
    expect(history.at(-1)).toMatchObject({ type: 'ticket.resolved', actor: { name: 'desk' } });
  });

  it('carries a customer report on a demo device through a visit, acceptance and the survey link, into the KPIs for plant-a', async () => {
    const created = await post('/api/v1/tickets', { channel: 'phone', contact: { name: 'Kim Lee', phone: '+49 30 555 0101' }, deviceId: 'pump-1', symptom: 'humming louder than usual', urgency: 'normal' });
    expect(created.status).toBe(201);
    const { ticket } = (await created.json()) as { ticket: { id: number; site: string; source: string; status: string } };
    expect(ticket).toMatchObject({ site: 'plant-a', source: 'reported', status: 'open' });
    const id = ticket.id;
    for (const [path, body] of [
      ['acknowledge', {}],
      ['visits', { plannedAt: Date.now(), technician: 'Tom', arrivedAt: Date.now(), partsUsed: [{ name: 'coupling insert', quantity: 1 }], result: 'fixed' }],
      ['resolve', { outcome: 'confirmed', note: 'coupling insert replaced' }],
      ['accept', { by: 'Kim Lee' }],
    ] as const) {
      const r = await post(`/api/v1/tickets/${id}/${path}`, body);
      expect(r.status, `${path}: ${await r.clone().text()}`).toBeLessThan(300);
    }
    const history = (await get(`/api/v1/tickets/${id}/history`)).events as { type: string; detail: { link?: { url: string } } }[];
    const link = history.find((e) => e.type === 'ticket.accepted')!.detail.link!;
    expect(link.url).toMatch(/^\/survey\//);
    const answer = await fetch(`${api}${link.url}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'score=5&nps=10&comment=fast' });
    expect(answer.status).toBe(200);
    expect(await get(`/api/v1/tickets/${id}`)).toMatchObject({ status: 'closed', closeReason: 'answered', firstTimeFix: true, survey: { score: 5 } });

    const kpis = await get('/api/v1/kpis?groupBy=site&interval=month');
    expect(kpis.targets).toMatchObject({ responseMinutes: 30, firstTimeFix: 0.85, resolution: 0.95, satisfaction: 0.9 });
    const a = kpis.rows.find((r: { group: string }) => r.group === 'plant-a');
    expect(a.response.meanMinutes).toBeGreaterThanOrEqual(0);
    expect(a.firstTimeFix).toEqual({ judged: 1, rate: 1 });
    expect(a.resolution.rate).toBeGreaterThan(0);
    expect(a.satisfaction).toMatchObject({ answered: 1, rate: 1 });
  });

  it('stores the readings in the TSDB it was given with INFLUX_URL', async () => {
    await waitFor(async () => (await vm.count('{__name__="telemetry_vibration_rms",device="fan-2"}')) > 100, { message: 'fan-2 readings in VictoriaMetrics' });
  });

  // Regression (#12): the Grafana dashboards were Flux only, which neither VictoriaMetrics nor InfluxDB 3 runs.
  it('answers every query of the PromQL Grafana dashboards from VictoriaMetrics with the demo data', async () => {
    // The simulated fleet reports vibration and bearing temperature; fan-2's drive also reports the
    // rest of what the device dashboard charts, as a sensor integrator would add it.
    const drive = await mqtt.connectAsync(`mqtt://127.0.0.1:${sensorPort}`, { clientId: 'e2e-drive' });
    await drive.publishAsync('sensors/fan-2', JSON.stringify({ vibration_accel_rms: 0.4, vibration_crest: 3.1, motor_temp: 61, motor_current: 12.4, speed_rpm: 1480 }), { qos: 1 });
    await drive.endAsync();
    await waitFor(async () => (await vm.count('{__name__="telemetry_speed_rpm",device="fan-2"}')) > 0, { message: 'fan-2 drive readings stored' });
    await waitFor(async () => (await vm.queryRange('vigil_readings_ingested_total', 1, '10s')).length > 0, { timeoutMs: 30_000, message: 'the server scraped' });
    await new Promise((r) => setTimeout(r, 3000)); // a few scrapes, so rate() has two points
    const grafana = (expr: string) => expr.replaceAll('$site', '.*').replaceAll('$device', 'fan-2').replaceAll('$__interval', '1h');
    let queries = 0;
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      if (!file.startsWith('promql/')) continue;
      const d = make() as { panels: { title: string; targets: { expr: string }[] }[]; templating: { list: { name: string; query: string }[] } };
      for (const v of d.templating.list) {
        const m = /^label_values\((.+), (\w+)\)$/.exec(v.query)!;
        const values = new Set((await vm.queryRange(`count by (${m[2]}) (${grafana(m[1]!)})`, 8)).map((s) => s.metric[m[2]!]));
        expect(values.size, `${file} variable ${v.name}`).toBeGreaterThan(0);
      }
      for (const p of d.panels) {
        for (const t of p.targets) {
          const series = await vm.queryRange(grafana(t.expr), 8);
          expect(series.length, `${file} · ${p.title}: ${t.expr}`).toBeGreaterThan(0);
          queries++;
        }
      }
    }
    expect(queries).toBeGreaterThanOrEqual(19);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await demo.kill('SIGTERM')).toBe(0);
  });
});
