import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock, SqliteSql, createRegistry, openDatabase, parseConfig, silentLogger } from '../../core/index.ts';
import { backtest, defaultRuleset, leadTimes, parseReadingsCsv, parseTruthCsv } from '../../rules/index.ts';
import { TicketManager, TicketsConfigSchema } from '../../tickets/index.ts';

// Real run-to-failure data (rules/backtest/fixtures/ims-bearing-test2, a copy of
// ../shared/datasets/ims-bearing-test2): four bearings on one shaft, bearing 1 failed at the end.
const dir = new URL('../../rules/backtest/fixtures/ims-bearing-test2/', import.meta.url);
const HOUR = 3_600_000;

describe('default ruleset on the IMS bearing run (real data)', () => {
  const { readings } = parseReadingsCsv(readFileSync(new URL('readings.csv', dir), 'utf8'));
  const truth = parseTruthCsv(readFileSync(new URL('truth.csv', dir), 'utf8'));
  // The four bearings share a shaft; the site says so in its ruleset, as any site would.
  const base = defaultRuleset();
  const ruleset = { ...base, devices: [...base.devices, { id: 'ims2-b*', machine: 'ims2-rig', tags: [], overrides: {} }] };
  const { findings, summary } = backtest(ruleset, readings, { site: 'lab' });
  const failedAt = truth[0]!.failedAt;

  it('names bearing 1 as the source at least 72 h before the last live snapshot', async () => {
    const report = leadTimes(findings, truth, summary.to);
    const [b1] = report.failures;
    expect(b1!.deviceId).toBe('ims2-b1');
    expect(b1!.leadTimeHours).toBeGreaterThanOrEqual(72);
    const first = findings.find((f) => f.deviceId === 'ims2-b1' && f.event === 'fire')!;
    expect(first.evidence.transmitted).toBeUndefined();
    expect(failedAt - first.at).toBeGreaterThanOrEqual(72 * HOUR);
    // The healthy bearings raise nothing of their own: what they feel is bearing 1's vibration.
    expect(report.falseAlarms).toEqual([]);
    expect(Object.keys(report.ticketsPerDevice)).toEqual(['ims2-b1']);
    expect(Object.keys(report.transmitted).sort()).toEqual(['ims2-b2', 'ims2-b3', 'ims2-b4']);
    for (const t of Object.values(report.transmitted)) expect(t.sources).toEqual(['ims2-b1']);
  });

  it('opens one wear ticket, on bearing 1, with the neighbours’ transmitted vibration as its evidence', async () => {
    const clock = new ManualClock(readings[0]!.ts);
    const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: new SqliteSql(openDatabase(':memory:')), clock, log: silentLogger(), registry: createRegistry() });
    for (const f of findings) {
      if (f.at > clock.now()) clock.advance(f.at - clock.now());
      await m.handleFinding(f);
    }
    const { tickets } = await m.store.list({ limit: 100, offset: 0 });
    expect(tickets.map((t) => [t.deviceId, t.fault])).toEqual([['ims2-b1', 'bearing_wear']]);
    const [t] = tickets;
    expect(t!.createdAt).toBeLessThanOrEqual(failedAt - 72 * HOUR);
    expect(new Set(t!.evidence.transmitted.map((x) => x.deviceId))).toEqual(new Set(['ims2-b2', 'ims2-b3', 'ims2-b4']));
    expect(t!.evidence.findings.length).toBeGreaterThan(0);
  });

  it('without the machine declared, the neighbours’ findings come only after bearing 1’s, and are counted as false alarms', async () => {
    const plain = backtest(base, readings, { site: 'lab' });
    const report = leadTimes(plain.findings, truth, plain.summary.to);
    expect(report.failures[0]!.leadTimeHours).toBeGreaterThanOrEqual(72);
    expect(report.falseAlarms.map((a) => a.deviceId)).toEqual(['ims2-b2', 'ims2-b3', 'ims2-b4']);
    for (const a of report.falseAlarms) expect(a.firstAt).toBeGreaterThan(failedAt - report.failures[0]!.leadTimeHours! * HOUR);
  });
});
