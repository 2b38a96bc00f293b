import { afterEach, describe, expect, it } from 'vitest';
import type { Sql } from '../../core/index.ts';
import { type HeldShard, ShardLeases, fairShare } from '../../server/cluster/leases.ts';
import { ENGINES, testStore } from '../helpers/engines.ts';

const TTL = 15_000;

describe('fairShare', () => {
  it('splits 64 shards evenly, the first members taking the remainder', () => {
    expect([fairShare(64, ['a'], 'a')]).toEqual([64]);
    expect(['a', 'b', 'c'].map((id) => fairShare(64, ['a', 'b', 'c'], id))).toEqual([22, 21, 21]);
    expect(fairShare(64, [], 'a')).toBe(64);
  });
});

// Shard ownership as the servers of a cluster share it: each shard owned by one member at a time, a
// joining member gets its share, a dead member's shards move once its leases run out, and a member that
// comes back after a stall learns it lost them.
describe.each(ENGINES)('shard leases (%s)', (engine) => {
  let sql: Sql;
  let t = 1_000_000;
  const now = async () => t;
  afterEach(async () => {
    await sql?.close();
  });

  async function member(id: string) {
    const log: string[] = [];
    const leases = await ShardLeases.open(
      sql,
      { member: { id, host: 'localhost', pid: 1 }, ttlMs: TTL, now },
      {
        acquired: (s) => void log.push(`+${s.shard}@${s.epoch}<${s.from ?? '-'}`),
        releasing: (s) => void log.push(`~${s.shard}`),
        lost: (s) => void log.push(`-${s.shard}`),
      },
    );
    return { id, leases, log };
  }
  /** Members a and b after three rounds each: 32 shards apiece. */
  async function balancedPair() {
    const pair = [await member('a'), await member('b')] as const;
    for (let i = 0; i < 3; i++) {
      for (const m of pair) await m.leases.round();
      t += 1000;
    }
    return pair;
  }
  const overlap = (a: HeldShard[], b: HeldShard[]) => a.filter((x) => b.some((y) => y.shard === x.shard));

  it('gives every shard to the only member, and half to a member that joins', async () => {
    sql = await testStore(engine);
    const a = await member('a');
    expect(await a.leases.round()).toHaveLength(64);
    expect(a.log.filter((l) => l.startsWith('+'))).toHaveLength(64);
    expect(a.log[0]).toBe('+0@1<-');

    const b = await member('b');
    expect(await b.leases.round()).toEqual([]); // all held and in force: nothing to take yet
    t += 1000;
    expect(await a.leases.round()).toHaveLength(32); // saved and gave up the other half
    expect(a.log.filter((l) => l.startsWith('~'))).toHaveLength(32);
    const held = await b.leases.round();
    expect(held).toHaveLength(32);
    expect(overlap(a.leases.holding(), held)).toEqual([]);
    expect(b.log.every((l) => /^\+\d+@2<a$/.test(l))).toBe(true); // second owner of each: epoch 2, from a

    const view = await a.leases.view();
    expect(view.unowned).toEqual([]);
    expect(view.members.map((m) => [m.id, m.alive, m.shards.length])).toEqual([
      ['a', true, 32],
      ['b', true, 32],
    ]);
    expect(view.handovers[0]).toMatchObject({ from: 'a', to: 'b', epoch: 2 });
  });

  it("moves a dead member's shards once its leases run out, and tells it when it comes back", async () => {
    sql = await testStore(engine);
    const [a, b] = await balancedPair();
    expect([a.leases.holding().length, b.leases.holding().length]).toEqual([32, 32]);
    const aHad = a.leases.holding().map((s) => s.shard);

    // a stops renewing (killed, or stalled). Before its leases run out, b takes nothing of it.
    t += TTL - 2000;
    b.log.length = 0;
    expect(await b.leases.round()).toHaveLength(32);
    t += 2000;
    const held = await b.leases.round();
    expect(held).toHaveLength(64);
    expect(b.log.filter((l) => l.endsWith('<a')).map((l) => Number(/\+(\d+)/.exec(l)![1])).sort((x, y) => x - y)).toEqual(aHad);

    // a wakes up: its renewals find the leases gone, it stops acting on them, then shares again.
    a.log.length = 0;
    await a.leases.round();
    expect(a.log.filter((l) => l.startsWith('-'))).toHaveLength(32);
    for (let i = 0; i < 3; i++) {
      t += 1000;
      await b.leases.round();
      await a.leases.round();
    }
    expect([a.leases.holding().length, b.leases.holding().length]).toEqual([32, 32]);
    expect(overlap(a.leases.holding(), b.leases.holding())).toEqual([]);
  });

  it('hands everything over at once when a member leaves', async () => {
    sql = await testStore(engine);
    const [a, b] = await balancedPair();
    a.log.length = 0;
    await a.leases.leave();
    expect(a.log.filter((l) => l.startsWith('~'))).toHaveLength(32);
    expect(await b.leases.round()).toHaveLength(64); // no wait for the leases to run out
    expect((await b.leases.view()).members.find((m) => m.id === 'a')?.alive).toBe(false);
  });

  it('never gives one shard to two members racing for it', async () => {
    sql = await testStore(engine, 12);
    const members = [await member('a'), await member('b'), await member('c')];
    for (let i = 0; i < 6; i++) {
      await Promise.all(members.map((m) => m.leases.round()));
      const all = members.flatMap((m) => m.leases.holding().map((s) => s.shard));
      expect(new Set(all).size).toBe(all.length);
      t += 1000;
    }
    expect(members.map((m) => m.leases.holding().length).sort()).toEqual([21, 21, 22]);
  });
});
