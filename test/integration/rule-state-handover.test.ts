import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, ManualClock, type Reading, type Sql, createRegistry, shardOf, silentLogger } from '../../core/index.ts';
import { RuleService, RulesConfigSchema } from '../../rules/index.ts';
import { LeaseLost, ShardLeases } from '../../server/cluster/index.ts';
import { ENGINES, testStore } from '../helpers/engines.ts';

const MIN = 60_000;
const SITES = ['plant-a', 'plant-b'];

// A shard moves between two servers on one store: the first saves its devices' rule state and forgets
// them, the next resumes baselines and alerts from it. A server whose lease has gone cannot overwrite it.
describe.each(ENGINES)('rule state across a shard handover (%s)', (engine) => {
  let sql: Sql;
  afterEach(async () => {
    await sql?.close();
  });

  it('resumes baselines and alerts on the next owner, and fences the old one', async () => {
    expect(shardOf(SITES[0]!)).not.toBe(shardOf(SITES[1]!));
    sql = await testStore(engine);
    const clock = new ManualClock();
    let t = 1_000_000;
    const now = async () => t;
    const server = async (id: string) => {
      const rules = await RuleService.open(RulesConfigSchema.parse({}), { sql, audit: await AuditLog.open(sql), log: silentLogger(), clock, registry: createRegistry() });
      await rules.start();
      const leases = await ShardLeases.open(sql, { member: { id, host: 'h', pid: 1 }, ttlMs: 15_000, now });
      return { rules, leases };
    };
    const a = await server('a');
    await a.leases.round();
    const shard = shardOf('plant-a');
    const epoch = a.leases.holding().find((s) => s.shard === shard)!.epoch;

    // Two days of a healthy bearing temperature at both sites, then plant-a's runs hot.
    const t0 = clock.now();
    for (let i = 0; i < 48 * 60; i += 5) {
      for (const site of SITES) a.rules.ingest(site, [{ deviceId: `${site}-fan`, metric: 'bearing_temp', value: 50 + (i % 3) * 0.2, ts: t0 + i * MIN } satisfies Reading]);
    }
    a.rules.ingest('plant-a', [{ deviceId: 'plant-a-fan', metric: 'bearing_temp', value: 97, ts: t0 + 48 * 60 * MIN }]);
    const alertsBefore = a.rules.live.alerts({ deviceId: 'plant-a-fan' }).map((x) => x.ruleId).sort();
    expect(alertsBefore.length).toBeGreaterThan(0);
    const baselines = a.rules.live.baselines('plant-a-fan');

    const saved = await a.rules.saveShard(shard, a.leases.guard(shard, epoch));
    expect(saved.rows).toBeGreaterThan(0);
    expect(a.rules.forgetShard(shard)).toBe(1);
    expect(a.rules.live.seen().map((d) => d.deviceId)).toEqual(['plant-b-fan']);

    // b takes the shard once a's lease has run out.
    t += 16_000;
    const b = await server('b');
    await b.leases.round();
    expect(b.leases.holds(shard)).toBe(true);
    expect(await b.rules.resumeShard(shard)).toBe(saved.rows);
    expect(b.rules.live.alerts({ deviceId: 'plant-a-fan' }).map((x) => x.ruleId).sort()).toEqual(alertsBefore);
    expect(b.rules.live.baselines('plant-a-fan')).toEqual(baselines);
    expect(b.rules.live.seen().map((d) => d.deviceId)).toEqual(['plant-a-fan']); // only that shard's devices

    // a, late, tries to write its old state for the shard: refused, and b's state stays.
    a.rules.ingest('plant-a', [{ deviceId: 'plant-a-fan', metric: 'bearing_temp', value: 20, ts: t0 + 49 * 60 * MIN }]);
    await expect(a.rules.saveShard(shard, a.leases.guard(shard, epoch))).rejects.toBeInstanceOf(LeaseLost);
    const c = await server('c');
    await c.rules.resumeShard(shard);
    expect(c.rules.live.alerts({ deviceId: 'plant-a-fan' }).map((x) => x.ruleId).sort()).toEqual(alertsBefore);
    for (const s of [a, b, c]) await s.rules.stop();
  });
});
