import { afterAll, describe, expect, it } from 'vitest';
import type { Reading, Sql } from '../../core/index.ts';
import { HistoryRollups } from '../../ingest/index.ts';
import { ENGINES, testStore } from '../helpers/engines.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const opened: Sql[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
});

const temp = (deviceId: string, ts: number, value: number): Reading => ({ deviceId, metric: 'bearing_temp', value, ts });

describe.each(ENGINES)('per-minute history on the store (%s)', (engine) => {
  const open = async () => {
    const sql = await testStore(engine);
    opened.push(sql);
    return { sql, history: await HistoryRollups.open(sql) };
  };

  it('reads what is still folding in memory, and the same once it is flushed', async () => {
    const { history } = await open();
    const t0 = Date.UTC(2026, 10, 3, 10, 0);
    history.add('plant-a', [temp('pump-1', t0, 40), temp('pump-1', t0 + 10_000, 44), temp('pump-1', t0 + MIN, 50)]);
    const before = await history.rows({ from: t0, to: t0 + 2 * MIN, devices: ['pump-1'] });
    expect(before).toEqual([
      expect.objectContaining({ minute: t0, count: 2, mean: 42, min: 40, max: 44, last: 44, site: 'plant-a' }),
      expect.objectContaining({ minute: t0 + MIN, count: 1, mean: 50 }),
    ]);
    expect(await history.flushAll()).toBe(2);
    expect(await history.rows({ from: t0, to: t0 + 2 * MIN, devices: ['pump-1'] })).toEqual(before);
    // A late reading of a stored minute merges into it, in memory and after the next flush.
    history.add('plant-a', [temp('pump-1', t0 + 20_000, 36)]);
    const merged = expect.objectContaining({ minute: t0, count: 3, min: 36, max: 44, last: 36 });
    expect((await history.rows({ from: t0, to: t0 + MIN }))[0]).toEqual(merged);
    await history.flushAll();
    expect((await history.rows({ from: t0, to: t0 + MIN }))[0]).toEqual(merged);
    expect(await history.siteOf('pump-1')).toBe('plant-a');
    expect(await history.hasSite('plant-b')).toBe(false);
  });

  it('merges the rows of one minute that a late reading reopened into one row of the flush', async () => {
    const { sql, history } = await open();
    const t0 = Date.UTC(2026, 10, 3, 14, 0);
    // Minutes 0 and 1 close twice each as the readings go back and forth between them.
    history.add('plant-a', [temp('pump-9', t0, 1), temp('pump-9', t0 + MIN, 2), temp('pump-9', t0 + 1000, 3), temp('pump-9', t0 + MIN + 1000, 4), temp('other', t0, 7)]);
    expect(await history.flushAll()).toBe(3);
    const stored = await sql.all<{ device_id: string; minute: number; count: number; min: number; max: number }>('SELECT device_id, minute, count, min, max FROM rollup_1m WHERE minute >= ? ORDER BY device_id, minute', [t0]);
    expect(stored.map((r) => [r.device_id, Number(r.minute) - t0, Number(r.count), r.min, r.max])).toEqual([
      ['other', 0, 1, 7, 7],
      ['pump-9', 0, 2, 1, 3],
      ['pump-9', MIN, 2, 2, 4],
    ]);
  });

  it('writes a minute once it has closed, an idle series on the next flush, and never a minute still filling', async () => {
    const { sql, history } = await open();
    const t0 = Date.UTC(2026, 10, 3, 12, 0);
    const stored = async () => (await sql.all<{ device_id: string; minute: number; count: number }>('SELECT device_id, minute, count FROM rollup_1m WHERE minute >= ? ORDER BY device_id, minute', [t0])).map((r) => [r.device_id, r.minute - t0, r.count]);
    history.add('plant-a', [temp('busy', t0, 1), temp('busy', t0 + 30_000, 2), temp('idle', t0, 5)]);
    // Both series have only open minutes, each touched since the last flush: nothing to write yet.
    expect(await history.flush()).toBe(0);
    history.add('plant-a', [temp('busy', t0 + MIN, 3)]);
    // busy's first minute closed; idle heard nothing since the last flush, so its minute goes too.
    expect(await history.flush()).toBe(2);
    expect(await stored()).toEqual([
      ['busy', 0, 2],
      ['idle', 0, 1],
    ]);
    // The open minute is read from memory meanwhile, and written whole on stop.
    expect(await history.rows({ from: t0, to: t0 + 2 * MIN, devices: ['busy'] })).toEqual([expect.objectContaining({ minute: t0, count: 2 }), expect.objectContaining({ minute: t0 + MIN, count: 1 })]);
    expect(await history.flushAll()).toBe(1);
    expect(await stored()).toEqual([
      ['busy', 0, 2],
      ['busy', MIN, 1],
      ['idle', 0, 1],
    ]);
  });

  it('adds up one minute written by two servers, and streams a range page by page in time order', async () => {
    const { sql, history: a } = await open();
    const b = await HistoryRollups.open(sql);
    const t0 = Date.UTC(2026, 10, 3, 12, 0);
    a.add('plant-a', [temp('pump-1', t0, 10), temp('pump-1', t0 + 1_000, 20)]);
    b.add('plant-a', [temp('pump-1', t0 + 2_000, 30)]);
    await Promise.all([a.flushAll(), b.flushAll()]);
    expect((await a.rows({ from: t0, to: t0 + MIN }))[0]).toMatchObject({ count: 3, mean: 20, min: 10, max: 30 });

    // 6,000 rows: more than one page of the stream.
    for (let i = 0; i < 3_000; i++) a.add('plant-a', [temp('fan-1', t0 + i * MIN, i), temp('fan-2', t0 + i * MIN, -i)]);
    let n = 0;
    let last = -1;
    for await (const r of a.readings({ from: t0, to: t0 + 3_000 * MIN, devices: ['fan-1', 'fan-2'] })) {
      expect(r.ts).toBeGreaterThanOrEqual(last);
      last = r.ts;
      n++;
    }
    expect(n).toBe(6_000);
  });

  it('keeps history for its retention and then lets it go (on PostgreSQL a whole month at a time)', async () => {
    const { history } = await open();
    const sep = Date.UTC(2026, 8, 15);
    const oct = Date.UTC(2026, 9, 15);
    const nov = Date.UTC(2026, 10, 15);
    history.add('plant-a', [temp('pump-1', sep, 1), temp('pump-1', oct, 2), temp('pump-1', nov, 3)]);
    await history.flushAll();
    if (engine === 'postgres') expect(await history.months()).toEqual(['rollup_1m_202609', 'rollup_1m_202610', 'rollup_1m_202611']);
    // Retention ends on 20 October: September has all passed; October is partly inside.
    const dropped = await history.prune(Date.UTC(2026, 9, 20));
    expect(dropped).toBe(engine === 'postgres' ? 1 : 2);
    const left = (await history.rows({ from: 0, to: nov + DAY })).map((r) => r.last);
    expect(left).toEqual(engine === 'postgres' ? [2, 3] : [3]);
    if (engine === 'postgres') expect(await history.months()).toEqual(['rollup_1m_202610', 'rollup_1m_202611']);
    // A month dropped and written again is made again.
    history.add('plant-a', [temp('pump-1', sep, 4)]);
    await history.flushAll();
    expect((await history.rows({ from: sep, to: sep + DAY }))[0]).toMatchObject({ last: 4, count: 1 });
  });
});
