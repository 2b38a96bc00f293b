import { describe, expect, it } from 'vitest';
import { type Finding, type Sql, SqliteSql, openDatabase } from '../../core/index.ts';
import { RuleEngine, parseRuleset } from '../../rules/index.ts';
import { FleetLevels } from './fleet-levels.ts';

const T0 = Date.UTC(2026, 3, 1);
const EVERY = 10 * 60_000;
const RULESET = parseRuleset(
  'version: 1\nname: t\ndefaults: { for: 0, minSamples: 1, clearFor: 0 }\ndevices:\n  - { id: "*", model: AF-710 }\nrules:\n  - { id: f, kind: fleet-outlier, metric: vibration_rms, fault: vibration, params: { smoothing: 1h, warmUp: 1h, staleAfter: 1d } }\n',
);

function server(found: Finding[]) {
  const engine = new RuleEngine(RULESET, { lateTolerance: 60_000, emit: (f) => found.push(f) });
  const feed = (site: string, id: string, value: number, t: number) => engine.ingest(site, [{ deviceId: id, metric: 'vibration_rms', value, ts: t }], t);
  return { engine, feed };
}

// Two servers of a cluster, each holding some devices of one model: shared through the store, each one's
// fleet rule compares its devices with every sibling, not only the ones it holds.
describe('fleet levels shared between servers', () => {
  it("judges a device against the siblings another server holds, and names them in the evidence", async () => {
    const sql = new SqliteSql(openDatabase(':memory:'));
    const [onA, onB] = [await FleetLevels.open(sql, 'a'), await FleetLevels.open(sql, 'b')];
    const foundA: Finding[] = [];
    const a = server(foundA);
    const b = server([]);
    // Five siblings on b's site, one device on a's; two hours of history each.
    let t = T0;
    for (; t < T0 + 2 * 3_600_000; t += EVERY) {
      for (let i = 1; i <= 5; i++) b.feed('site-b', `sib-${i}`, 1 + i / 100, t);
      a.feed('site-a', 'dev-1', 1, t);
    }
    // Alone on a, the device has no siblings to be compared with: far above them, nothing fires.
    a.feed('site-a', 'dev-1', 5, (t += EVERY));
    expect(foundA).toEqual([]);

    expect(await onB.share(b.engine, T0)).toEqual({ written: 5, merged: 0 });
    expect(await onA.share(a.engine, T0)).toEqual({ written: 1, merged: 5 });
    // Unchanged levels are not written again; b now knows a's device too.
    expect(await onB.share(b.engine, T0 + 60_000)).toEqual({ written: 0, merged: 1 });

    a.feed('site-a', 'dev-1', 5, t + EVERY);
    const fire = foundA.find((f) => f.event === 'fire' && f.ruleId === 'f');
    expect(fire?.deviceId).toBe('dev-1');
    expect(fire?.evidence).toMatchObject({ siblingCount: 5, model: 'AF-710' });
    expect((fire!.evidence.siblings as { deviceId: string }[]).map((s) => s.deviceId)).toEqual(['sib-1', 'sib-2', 'sib-3', 'sib-4', 'sib-5']);
  });

  it("keeps a server's own level over another's older row, and takes a moved device's level from its new holder", async () => {
    const sql = new SqliteSql(openDatabase(':memory:'));
    const [onA, onB] = [await FleetLevels.open(sql, 'a'), await FleetLevels.open(sql, 'b')];
    const a = server([]);
    const b = server([]);
    for (let t = T0; t < T0 + 2 * 3_600_000; t += EVERY) a.feed('site-x', 'dev-1', 1, t);
    await onA.share(a.engine, T0);
    await onB.share(b.engine, T0);
    // The shard moves: a forgets the device, b takes it up and publishes its own level.
    a.engine.forget((site) => site === 'site-x');
    const later = T0 + 3 * 3_600_000;
    for (let t = T0 + 2 * 3_600_000; t <= later; t += EVERY) b.feed('site-x', 'dev-1', 2, t);
    // a's old row is still in the store; b keeps its own, newer level.
    await onB.share(b.engine, T0 + 60_000);
    const row = await sql.get<{ member_id: string; level: number }>('SELECT member_id, level FROM fleet_level WHERE device_id = ?', ['dev-1']);
    expect(row?.member_id).toBe('b');
    expect(row!.level).toBeGreaterThan(1.5);
    // a hears of the device from b now.
    expect((await onA.share(a.engine, T0 + 120_000)).merged).toBe(1);
  });

  it('writes again, at the next share, the levels a failed write did not store', async () => {
    const store = new SqliteSql(openDatabase(':memory:'));
    let down = false;
    // The store out of reach for one share: its writes refused, as PostgreSQL's would be.
    const sql: Sql = Object.assign(Object.create(store) as Sql, {
      run: (text: string, args?: Parameters<Sql['run']>[1]) => (down ? Promise.reject(new Error('connection refused')) : store.run(text, args)),
    });
    const onA = await FleetLevels.open(sql, 'a');
    const a = server([]);
    for (let t = T0; t < T0 + 2 * 3_600_000; t += EVERY) a.feed('site-a', 'dev-1', 1, t);
    down = true;
    await expect(onA.share(a.engine, T0)).rejects.toThrow('connection refused');
    down = false;
    expect((await onA.share(a.engine, T0 + 60_000)).written).toBe(1);
    expect(await store.get('SELECT device_id FROM fleet_level')).toEqual({ device_id: 'dev-1' });
  });
});
