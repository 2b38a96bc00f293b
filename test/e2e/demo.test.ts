import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

const ingested = async (url: string) => Number(/^vigil_readings_ingested_total (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);

describe('vigil demo (what `npm start` runs), as a user starts it', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let demo: VigilProcess;
  let api: string;
  let startedAt: number;

  beforeAll(async () => {
    await vm.start();
    const [http, mqtt, sensors, modbus] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // The gateway's status API takes http + 1; make sure it is free too.
    api = `http://127.0.0.1:${http}`;
    startedAt = Date.now();
    demo = new VigilProcess(['demo', '--http-port', String(http), '--mqtt-port', String(mqtt), '--sensor-port', String(sensors), '--modbus-port', String(modbus), '--data-dir', join(tmp.dir, 'demo')], {
      INFLUX_URL: vm.url,
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
        const body = (await (await fetch(`${api}/api/v1/devices`)).json()) as {
          devices: { deviceId: string; lastTs: number; values: Record<string, { value: number }> }[];
        };
        const fan = body.devices.find((d) => d.deviceId === 'fan-2');
        return body.devices.length === 6 && fan && fan.lastTs > startedAt - 3 * 86_400_000 ? body.devices : undefined;
      },
      { timeoutMs: 40_000, message: 'six devices, replayed to three days ago' },
    );
    expect(devices.map((d) => d.deviceId).sort()).toEqual(['compressor-4', 'fan-2', 'motor-5', 'press-6', 'pump-1', 'pump-3']);
    expect((devices.find((d) => d.deviceId === 'press-6') as { state?: string }).state).toBe('online');
    const fan = devices.find((d) => d.deviceId === 'fan-2')!;
    const pump = devices.find((d) => d.deviceId === 'pump-1')!;
    expect(fan.values.vibration_kurtosis!.value).toBeGreaterThan(pump.values.vibration_kurtosis!.value + 2);
  });

  it('raises findings on the wearing bearing (and the stuck sensor), none on the healthy machines', async () => {
    type F = { deviceId: string; ruleId: string; event: string; severity: string; fault: string; at: number };
    const findings = await waitFor(
      async () => {
        const body = (await (await fetch(`${api}/api/v1/findings?limit=1000`)).json()) as { findings: F[] };
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
    const alerts = (await (await fetch(`${api}/api/v1/alerts?device=fan-2`)).json()) as { alerts: { phase: string }[] };
    expect(alerts.alerts.some((a) => a.phase === 'firing')).toBe(true);
  });

  it('stores the readings in the TSDB it was given with INFLUX_URL', async () => {
    await waitFor(async () => (await vm.count('{__name__="telemetry_vibration_rms",device="fan-2"}')) > 100, { message: 'fan-2 readings in VictoriaMetrics' });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await demo.kill('SIGTERM')).toBe(0);
  });
});
