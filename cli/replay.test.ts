import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReadingsCsv } from '../rules/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { main } from './main.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  return main(argv, { env: {}, out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out, err: err.join('\n') }));
}

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

/** Two hours of a healthy bearing temperature, then an hour at 90 °C, as long-format CSV rows. */
function longCsv(): string {
  const rows = ['ts,device,metric,value'];
  for (let i = 0; i < 180; i++) {
    const v = i < 120 ? 50 + (i % 5) * 0.3 : 90;
    rows.push(`${i % 2 ? T0 + i * MIN : new Date(T0 + i * MIN).toISOString()},pump-1,bearing_temp,${v}`);
  }
  return rows.join('\n') + '\n';
}

describe('reading CSV', () => {
  it('reads long format with ISO and epoch-ms times, and reports bad rows by line without dropping the rest', () => {
    const r = parseReadingsCsv(`ts,device,metric,value\n2026-01-01T00:00:00Z,pump-1,bearing_temp,50\n${T0 + MIN},pump-1,bearing_temp,51\nyesterday,pump-1,bearing_temp,1\n${T0},pump-1,colour,1\n${T0},pump-1,bearing_temp,hot\n`);
    expect(r.format).toBe('long');
    expect(r.readings).toEqual([
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 50, ts: T0 },
      { deviceId: 'pump-1', metric: 'bearing_temp', value: 51, ts: T0 + MIN },
    ]);
    expect(r.problems.map((p) => p.line)).toEqual([4, 5, 6]);
    // A date-time without an offset is UTC on every machine (the truth file reads times the same way).
    expect(parseReadingsCsv('ts,device,metric,value\n2026-01-01T00:01:00,pump-1,bearing_temp,50\n2026-01-01 00:02:00+01:00,pump-1,bearing_temp,50\n').readings.map((x) => x.ts)).toEqual([T0 - 58 * MIN, T0 + MIN]);
    expect(r.problems[1]!.message).toMatch(/unknown metric "colour"/);
  });

  it('reads wide format with a column mapping and a device given from outside', () => {
    const r = parseReadingsCsv(`time,vib,bearing_temp,notes\n${T0},1.5,50,ok\n${T0 + MIN},,51,"a, b"\n`, { device: 'fan-2', map: { vib: 'vibration_rms' } });
    expect(r.format).toBe('wide');
    expect(r.readings).toEqual([
      { deviceId: 'fan-2', metric: 'vibration_rms', value: 1.5, ts: T0 },
      { deviceId: 'fan-2', metric: 'bearing_temp', value: 50, ts: T0 },
      { deviceId: 'fan-2', metric: 'bearing_temp', value: 51, ts: T0 + MIN },
    ]);
  });

  it('refuses a file it cannot interpret with a reason', () => {
    expect(() => parseReadingsCsv('when,what\n1,2\n')).toThrow(/no ts column/);
    expect(() => parseReadingsCsv(`ts,vib\n${T0},1\n`)).toThrow(/give --device/);
    expect(() => parseReadingsCsv(`ts,vib\n${T0},1\n`, { device: 'd', map: { vib: 'wobble' } })).toThrow(/not a catalog metric/);
  });
});

describe('vigil replay', () => {
  const csv = join(tmp.dir, 'pump.csv');
  writeFileSync(csv, longCsv());

  it('prints findings and a per-device summary', async () => {
    const r = await run(['replay', '--rules', 'default', '--csv', csv]);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/fire\s+warning\s+pump-1\s+bearing-temp-limit/);
    expect(r.out.join('\n')).toMatch(/pump-1\s+2026-01-01T02:\d\d:00.000Z/);
  });

  it('--json prints one finding per line and a last summary line', async () => {
    const r = await run(['replay', '--rules', 'default', '--csv', csv, '--json']);
    expect(r.code).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = lines.pop()!;
    expect(lines.length).toBeGreaterThan(0);
    for (const f of lines) expect(Object.keys(f)).toEqual(expect.arrayContaining(['ruleId', 'deviceId', 'metric', 'severity', 'event', 'at', 'evidence']));
    const fire = lines.find((f) => f.ruleId === 'bearing-temp-limit');
    // `for: 10m` of the default ruleset: the 90 °C starting at minute 120 fires at minute 130.
    expect(fire).toMatchObject({ event: 'fire', severity: 'warning', at: T0 + 130 * MIN, deviceId: 'pump-1' });
    expect(last.summary).toMatchObject({ readings: 180, devices: [expect.objectContaining({ deviceId: 'pump-1', firstWarning: expect.any(Number), alerts: expect.any(Number) })] });
  });

  it('uses a ruleset file, and refuses an invalid one with every problem and its path', async () => {
    const good = join(tmp.dir, 'rules.yaml');
    writeFileSync(good, 'version: 1\nname: strict\nrules:\n  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 60 }, alert: { for: 0, minSamples: 1 } }\n');
    const r = await run(['replay', '--rules', good, '--csv', csv, '--json']);
    expect(JSON.parse(r.out[0]!)).toMatchObject({ ruleId: 'hot', at: T0 + 120 * MIN });

    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nname: bad\nrules:\n  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: "x" } }\n  - { id: hot, kind: wobble, fault: overheating }\n');
    const b = await run(['replay', '--rules', bad, '--csv', csv]);
    expect(b.code).toBe(78);
    expect(b.err).toMatch(/rules\.0\.params\.warning/);
    expect(b.err).toMatch(/rules\.1\.kind/);
  });

  it('exits 65 with a reason for a CSV it cannot read, and 2 without arguments', async () => {
    const wide = join(tmp.dir, 'wide.csv');
    writeFileSync(wide, `ts,vibration_rms\n${T0},1\n`);
    const r = await run(['replay', '--rules', 'default', '--csv', wide]);
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/give --device/);
    expect((await run(['replay'])).code).toBe(2);
  });
});

describe('vigil replay --truth: lead time against real failures', () => {
  // A copy of ../shared/datasets/ims-bearing-test2 (its README says what and from where), so a clean clone tests alone.
  const IMS = new URL('../rules/backtest/fixtures/ims-bearing-test2/readings.csv', import.meta.url).pathname;
  const TRUTH = new URL('../rules/backtest/fixtures/ims-bearing-test2/truth.csv', import.meta.url).pathname;

  it('reports, on the IMS run-to-failure data, the lead time of the failed bearing, and what its neighbours feel as transmitted', async () => {
    const r = await run(['replay', '--rules', 'default', '--csv', IMS, '--truth', TRUTH, '--machine', 'ims2-b*=ims2-rig', '--json']);
    expect(r.code).toBe(0);
    type Lead = { failures: { deviceId: string; leadTimeHours: number; matchingLeadTimeHours: number | null }[]; falseAlarms: { deviceId: string; hoursBeforeEnd: number }[]; transmitted: Record<string, { findings: number; sources: string[] }>; ticketsPerDevice: Record<string, number> };
    const { leadTimes } = JSON.parse(r.out.at(-1)!) as { leadTimes: Lead };
    const [b1] = leadTimes.failures;
    expect(b1!.deviceId).toBe('ims2-b1');
    expect(b1!.leadTimeHours).toBeGreaterThanOrEqual(72);
    expect(b1!.matchingLeadTimeHours).toBeGreaterThanOrEqual(72);
    expect(leadTimes.falseAlarms).toEqual([]);
    expect(leadTimes.ticketsPerDevice).toEqual({ 'ims2-b1': 1 });
    expect(Object.keys(leadTimes.transmitted).sort()).toEqual(['ims2-b2', 'ims2-b3', 'ims2-b4']);
    const text = await run(['replay', '--rules', 'default', '--csv', IMS, '--truth', TRUTH, '--machine', 'ims2-b*=ims2-rig']);
    expect(text.out.join('\n')).toMatch(/ims2-b1 +failed 2004-02-19T06:02:39.000Z: first warning 7\d\.\d h before/);
    expect(text.out.join('\n')).toMatch(/ims2-b4 +\d+ finding\(s\) of vibration transmitted from ims2-b1/);
    // Without the shaft declared, the neighbours' late findings are false alarms of their own.
    const plain = JSON.parse((await run(['replay', '--rules', 'default', '--csv', IMS, '--truth', TRUTH, '--json'])).out.at(-1)!) as { leadTimes: Lead };
    expect(plain.leadTimes.falseAlarms.map((a) => a.deviceId)).toEqual(['ims2-b2', 'ims2-b3', 'ims2-b4']);
    expect((await run(['replay', '--rules', 'default', '--csv', IMS, '--machine', 'Bad Name=x y'])).code).toBe(2);
  });

  it('refuses a truth file it cannot read exactly, naming the line, with exit 65; a missing one is 66', async () => {
    const csv = join(tmp.dir, 'long.csv');
    writeFileSync(csv, longCsv());
    for (const [body, problem] of [
      ['device,when\npump-1,2026-01-01T00:00:00Z\n', /header with device,failed_at/],
      ['device,failed_at\npump-1,last tuesday\n', /line 2: failed_at "last tuesday" is not a time/],
      ['device,failed_at,fault\npump-1,2026-01-01T00:00:00Z,gremlins\n', /line 2: fault "gremlins" is not one of/],
      ['device,failed_at\n', /no failures listed/],
    ] as const) {
      const truth = join(tmp.dir, 'truth.csv');
      writeFileSync(truth, body);
      const r = await run(['replay', '--rules', 'default', '--csv', csv, '--truth', truth]);
      expect(r.code).toBe(65);
      expect(r.err).toMatch(problem);
    }
    expect((await run(['replay', '--rules', 'default', '--csv', csv, '--truth', join(tmp.dir, 'nowhere.csv')])).code).toBe(66);
  });

  it('counts a warning only before the failure, and a fault-specific lead time when the fault is known', async () => {
    const csv = join(tmp.dir, 'long.csv');
    writeFileSync(csv, longCsv());
    const truth = join(tmp.dir, 'truth.csv');
    // The bearing runs hot from minute 120; it "failed" at minute 170, so the warning came before it.
    writeFileSync(truth, `device,failed_at,fault\npump-1,${T0 + 170 * MIN},overheating\n`);
    const r = await run(['replay', '--rules', 'default', '--csv', csv, '--truth', truth, '--json']);
    const { leadTimes } = JSON.parse(r.out.at(-1)!) as { leadTimes: { failures: { firstFindingAt: number; leadTimeHours: number; matchingLeadTimeHours: number }[]; falseAlarms: unknown[] } };
    const f = leadTimes.failures[0]!;
    expect(f.firstFindingAt).toBeGreaterThanOrEqual(T0 + 120 * MIN);
    expect(f.leadTimeHours).toBe(Math.round(((T0 + 170 * MIN - f.firstFindingAt) / 3_600_000) * 10) / 10);
    expect(f.matchingLeadTimeHours).toBe(f.leadTimeHours);
    expect(leadTimes.falseAlarms).toEqual([]);
    // A failure before any warning has no lead time.
    writeFileSync(truth, `device,failed_at\npump-1,${T0 + 60 * MIN}\n`);
    const early = JSON.parse((await run(['replay', '--rules', 'default', '--csv', csv, '--truth', truth, '--json'])).out.at(-1)!) as { leadTimes: { failures: { leadTimeHours: number | null }[] } };
    expect(early.leadTimes.failures[0]!.leadTimeHours).toBeNull();
  });
});
