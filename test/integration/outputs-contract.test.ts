import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContractTarget, OUTPUT_CASES, type OpenOutput } from '../contracts/outputs.contract.ts';
import { stopProcess } from '../helpers/binaries.ts';
import { waitFor } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

const CHILD = fileURLToPath(new URL('../contracts/output-child.ts', import.meta.url));

/** Keys in the order first taken, each once: what a target that honours the idempotency key acts on. */
const once = (keys: string[]) => [...new Set(keys)];
/** What the target took of these items, in the order taken (a TSDB lists by series, not by arrival). */
const of = (taken: string[], ids: string[]) => {
  const mine = new Set(ids);
  return taken.filter((k) => mine.has(k));
};

describe.each(OUTPUT_CASES)('output contract: $family $kind', (c) => {
  const tmp = tempDir();
  let target: ContractTarget;
  let n = 0;
  const fresh = () => join(tmp.dir, `out-${++n}.db`);
  const opened: OpenOutput[] = [];
  const open = async (maxAttempts = 100) => {
    const o = await c.open(target.address, fresh(), { maxAttempts });
    opened.push(o);
    return o;
  };

  beforeAll(async () => {
    target = await c.target();
  });
  afterAll(async () => {
    for (const o of opened.splice(0)) await o.stop();
    await target?.stop();
    tmp.cleanup();
  });

  it('delivers every item once' + (c.orderPerKey ? ', in order per key, keys side by side' : ''), async () => {
    target.plan({ then: 'ok' });
    const out = await open();
    const ids = await out.put([{ key: 't1', n: 4 }, { key: 't2', n: 3 }]);
    await waitFor(async () => of(await target.taken(), ids).length >= ids.length && (await out.pending()) === 0, { timeoutMs: 30_000, message: 'all taken' });
    const taken = of(await target.taken(), ids);
    expect([...taken].sort()).toEqual([...ids].sort());
    // put() returns the ids in the order put: t1's four, then t2's three.
    if (c.orderPerKey) for (const chain of [ids.slice(0, 4), ids.slice(4)]) expect(of(taken, chain)).toEqual(chain);
    expect(await out.dead()).toEqual([]);
    await out.stop();
    opened.pop();
  });

  it('retries what the target fails for now (5xx, SMTP 4xx) and what it does not answer, and loses nothing', async () => {
    target.plan({ sequence: ['transient', 'hang', 'transient'], then: 'ok' });
    const out = await open();
    const ids = await out.put([{ key: 't3', n: 3 }]);
    await waitFor(async () => once(of(await target.taken(), ids)).length >= ids.length && (await out.pending()) === 0, { timeoutMs: 30_000, message: 'all taken after the failures' }).catch(async (err: Error) => {
      throw new Error(`${err.message}: took ${JSON.stringify(of(await target.taken(), ids))} of ${JSON.stringify(ids)}, pending ${(await out.pending())}, dead ${(await out.dead()).length}, requests ${target.requests()}`);
    });
    const taken = of(await target.taken(), ids);
    expect(once(taken).sort()).toEqual([...ids].sort());
    if (c.orderPerKey) expect(once(taken)).toEqual(ids);
    expect(await out.dead()).toEqual([]);
    await out.stop();
    opened.pop();
  });

  it('gives up at once what the target refuses for good (4xx, SMTP 5xx), keeping it in the dead letters', async () => {
    target.plan({ then: 'permanent' });
    const requests = target.requests();
    const out = await open();
    await out.put([{ key: 't4', n: 1 }]);
    await waitFor(async () => (await out.dead()).length > 0, { timeoutMs: 20_000, message: 'dead-lettered' });
    expect(await out.pending()).toBe(0);
    // Not retried: one request for the one item.
    await new Promise((r) => setTimeout(r, 300));
    expect(target.requests() - requests).toBe(1);
    target.plan({ then: 'ok' });
    await out.stop();
    opened.pop();
  });

  if (c.maxAttempts) {
    it('dead-letters after maxAttempts, and delivers it when replayed, under the same key', async () => {
      target.plan({ then: 'transient' });
      const out = await open(3);
      const ids = await out.put([{ key: 't5', n: 1 }]);
      await waitFor(async () => (await out.dead()).length === 1, { timeoutMs: 20_000, message: 'dead after 3 attempts' });
      target.plan({ then: 'ok' });
      expect(await out.replay((await out.dead())[0]!)).toBe(true);
      await waitFor(async () => of(await target.taken(), ids).length > 0, { timeoutMs: 20_000, message: 'replayed' });
      expect(of(await target.taken(), ids)).toEqual(ids);
      expect(await out.dead()).toEqual([]);
      await out.stop();
      opened.pop();
    });
  } else {
    it('keeps retrying a target that stays down, never dropping what it holds', async () => {
      target.plan({ then: 'transient' });
      const out = await open();
      await out.put([{ key: 't5', n: 3 }]);
      const requests = target.requests();
      await waitFor(() => target.requests() - requests >= 3, { timeoutMs: 20_000, message: 'retried' });
      expect(await out.pending()).toBe(3);
      expect(await out.dead()).toEqual([]);
      target.plan({ then: 'ok' });
      await waitFor(async () => (await out.pending()) === 0, { timeoutMs: 20_000, message: 'delivered once the target is back' });
      await out.stop();
      opened.pop();
    });
  }

  it('loses nothing to a SIGKILL mid-delivery, and the restart takes each item once by its key', async () => {
    // Two requests taken slowly, then none answered: the kill comes with requests in flight, always.
    target.plan({ sequence: ['slow', 'slow'], then: 'hang' });
    // A TSDB shows what it took a moment later (VictoriaMetrics flushes about once a second): wait until
    // the earlier tests' items have all shown, or they would count as this test's resends under new keys.
    let before = await target.taken();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1200));
      const again = await target.taken();
      if (again.length === before.length) break;
      before = again;
    }
    const seenBefore = new Set(before);
    const db = fresh();
    const run = (put?: string) => {
      // One process, node with tsx's loader: the tsx command would run the script in a child of its
      // own, and a SIGKILL of the command would leave that child delivering on, unkilled.
      const p: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, c.kind, db, JSON.stringify(target.address), ...(put ? [put] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
      return { p, out: () => out };
    };
    const first = run(JSON.stringify([{ key: 't6', n: 6 }, { key: 't7', n: 6 }]));
    try {
      await waitFor(() => /^put /m.test(first.out()), { timeoutMs: 30_000, message: 'items queued by the child' });
      const ids = JSON.parse(/^put (.*)$/m.exec(first.out())![1]!) as string[];
      // Killed with some taken, some in flight (unanswered), some not yet sent.
      await waitFor(async () => of(await target.taken(), ids).length >= 2, { timeoutMs: 30_000, message: `some taken: ${first.out()}` });
      await stopProcess(first.p, 'SIGKILL');
      const takenAtKill = once(of(await target.taken(), ids)).length;
      expect(takenAtKill).toBeLessThan(ids.length);
      target.plan({ then: 'ok' });
      const second = run();
      try {
        await waitFor(async () => once(of(await target.taken(), ids)).length >= ids.length, { timeoutMs: 60_000, message: `all taken after the restart: ${second.out()}` });
        // Items the first process had sent into a hanging target come back after its timeout and backoff:
        // generous, since a loaded machine stretches both, and what the child printed if it never drains.
        await waitFor(() => second.out().includes('drained'), { timeoutMs: 60_000, message: 'the restarted output drained' }).catch((err: Error) => {
          throw new Error(`${err.message}; the child said: ${second.out().slice(-1500)}`);
        });
      } finally {
        await stopProcess(second.p);
      }
      // Nothing lost, and every resend under a key it already had (a target that honours the key acts once).
      expect(once(of(await target.taken(), ids)).sort()).toEqual([...ids].sort());
      expect((await target.taken()).filter((k) => !seenBefore.has(k) && !ids.includes(k))).toEqual([]);
    } finally {
      await stopProcess(first.p, 'SIGKILL');
    }
  });
});
