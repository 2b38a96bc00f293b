import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../core/index.ts';
import { SIM_METRICS, ScenarioSchema, resolveScenario, sample } from '../../firmware-sim/index.ts';
import type { Gateway } from '../../gateway/index.ts';
import { VigilProcess } from '../helpers/child.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';
import { readFileSync } from 'node:fs';

const SCENARIO = fileURLToPath(new URL('../../firmware-sim/scenarios/wear-month.yaml', import.meta.url));
const DAY = 86_400_000;

describe('a month of simulated wear: vigil sim → gateway → server → VictoriaMetrics', () => {
  const tmp = tempDir();
  const vm = new Victoria();
  let srv: ServerHandle;
  let gw: Gateway;
  let sim: VigilProcess;
  let origin: number;

  beforeAll(async () => {
    await vm.start();
    srv = await startServer({ dataDir: `${tmp.dir}/server`, influxUrl: vm.url });
    const g = await startGateway({ dataDir: `${tmp.dir}/gw`, uplinkUrl: srv.brokerUrl });
    gw = g.gateway;
    origin = Date.now();
    sim = new VigilProcess(['sim', SCENARIO, '--url', g.localUrl, '--speed', '200000']).start();
  });

  afterAll(async () => {
    await sim?.kill('SIGKILL');
    await gw?.stop();
    await srv?.server.stop();
    await vm.destroy();
    tmp.cleanup();
  });

  it('states its ground truth, plays to the end, and every simulated reading is stored once', async () => {
    await sim.waitForOutput(/scenario finished: (\d+) messages published/, 120_000);
    expect(sim.output).toMatch(/ground truth: fan-1 bearing_wear/);
    expect(sim.output).toMatch(/ground truth: compressor-1 overheating/);

    // The models are pure functions of time, so the test knows exactly what the sensors sent.
    const scenario = parseConfigText(ScenarioSchema, readFileSync(SCENARIO, 'utf8'), {});
    const runStart = Number(/"from":"([^"]+)"/.exec(sim.output)?.[1] ? Date.parse(/"from":"([^"]+)"/.exec(sim.output)![1]!) : NaN);
    const simOrigin = runStart + 30 * DAY;
    expect(Math.abs(simOrigin - origin)).toBeLessThan(10_000);
    const { models, start, end } = resolveScenario(scenario, simOrigin);
    let expected = 0;
    for (const m of models) for (let t = start; t <= end!; t += scenario.sampleEvery) expected += Object.keys(sample(m, t)).length;
    await waitFor(async () => (await vm.count()) >= expected, { timeoutMs: 60_000, message: `${expected} readings stored` });
    expect(await vm.count()).toBe(expected);

    const series = await vm.export();
    const values = (device: string, metric: string) => {
      const s = series.find((x) => x.metric.device === device && x.metric.__name__ === `telemetry_${metric}`)!;
      return s.timestamps.map((t, i) => ({ t, v: s.values[i]! })).sort((a, b) => a.t - b.t);
    };
    const fan = values('fan-1', 'vibration_rms');
    const truth = resolveScenario(scenario, simOrigin).truth.find((t) => t.deviceId === 'fan-1')!;
    // The wearing bearing ends in ISO 10816 zone D and goes silent at its known failure time.
    expect(fan.at(-1)!.v).toBeGreaterThan(7.1);
    expect(fan.at(-1)!.t).toBeLessThan(truth.failsAt);
    expect(fan.at(-1)!.t).toBeGreaterThan(truth.failsAt - scenario.sampleEvery - 1);
    expect(Math.max(...values('pump-1', 'vibration_rms').map((x) => x.v))).toBeLessThan(2.3);
    expect(Math.max(...values('compressor-1', 'bearing_temp').map((x) => x.v))).toBeGreaterThan(80);
    for (const metric of SIM_METRICS) expect(values('pump-2', metric).length).toBeGreaterThan(4000);

    // The server's rule engine saw the same month: a warning on each wearing machine with at least a
    // quarter of its degradation left and nothing on the healthy ones. Silence is measured on the wall
    // clock live, so the month's one-day dropout (two seconds here) is not one; rules-fleet covers it.
    const res = await fetch(`${srv.httpUrl}/api/v1/findings?limit=1000`);
    const findings = ((await res.json()) as { findings: { deviceId: string; fault: string; event: string; at: number; ruleId: string }[] }).findings.reverse();
    for (const t of resolveScenario(scenario, simOrigin).truth) {
      const first = findings.find((f) => f.deviceId === t.deviceId && f.event === 'fire' && f.fault !== 'device_offline' && f.fault !== 'sensor_fault');
      expect(first, `${t.deviceId} warned`).toBeDefined();
      expect((t.failsAt - first!.at) / (t.failsAt - t.onset)).toBeGreaterThanOrEqual(0.25);
    }
    expect(findings.filter((f) => f.deviceId === 'pump-1' || f.deviceId === 'pump-2')).toEqual([]);
    expect(findings.filter((f) => f.ruleId === 'device-silent')).toEqual([]);
  });
});
