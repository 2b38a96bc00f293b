import { describe, expect, it } from 'vitest';
import { EnvelopeDedupe } from './dedupe.ts';

describe('EnvelopeDedupe', () => {
  it('recognises resends, in order or not, per gateway and boot', () => {
    const d = new EnvelopeDedupe();
    for (const seq of [0, 1, 3, 2, 5]) d.mark('gw', 'b1', seq);
    expect([0, 1, 2, 3, 5].every((s) => d.isDuplicate('gw', 'b1', s))).toBe(true);
    expect(d.isDuplicate('gw', 'b1', 4)).toBe(false);
    expect(d.isDuplicate('gw', 'b2', 0)).toBe(false);
    expect(d.isDuplicate('other', 'b1', 0)).toBe(false);
    expect(d.floor('gw', 'b1')).toBe(3);
  });

  it('stays bounded when a gap never fills', () => {
    const d = new EnvelopeDedupe(8, 100);
    for (let s = 1; s <= 1000; s++) d.mark('gw', 'b', s);
    expect(d.floor('gw', 'b')).toBeGreaterThan(800);
    expect(d.isDuplicate('gw', 'b', 1000)).toBe(true);
  });

  it('keeps a few boots per gateway', () => {
    const d = new EnvelopeDedupe(2);
    d.mark('gw', 'a', 0);
    d.mark('gw', 'b', 0);
    d.mark('gw', 'c', 0);
    expect(d.isDuplicate('gw', 'a', 0)).toBe(false);
    expect(d.isDuplicate('gw', 'c', 0)).toBe(true);
  });
});

describe('EnvelopeDedupe digests and undo', () => {
  it('tells a resend (same bytes) from a reused seq (other bytes)', () => {
    const d = new EnvelopeDedupe();
    d.mark('gw', 'b', 0, 'aaa');
    expect(d.check('gw', 'b', 0, 'aaa')).toBe('duplicate');
    expect(d.check('gw', 'b', 0, 'bbb')).toBe('conflict');
    expect(d.check('gw', 'b', 1, 'aaa')).toBe('new');
  });

  it('undoes a mark whose write failed, even after the floor moved past it', () => {
    const d = new EnvelopeDedupe();
    for (const s of [0, 1, 2, 3]) d.mark('gw', 'b', s);
    d.unmark('gw', 'b', 1);
    expect([0, 1, 2, 3].map((s) => d.check('gw', 'b', s))).toEqual(['duplicate', 'new', 'duplicate', 'duplicate']);
    d.mark('gw', 'b', 1);
    expect(d.floor('gw', 'b')).toBe(3);
  });
});

describe('DedupeLedger', () => {
  it('brings the windows back after a restart, and forgets boots that fell out', async () => {
    const { openDatabase } = await import('../../core/index.ts');
    const { DedupeLedger } = await import('./ledger.ts');
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/ledger-`);
    const file = `${dir}/server.db`;
    const db1 = openDatabase(file);
    const l1 = new DedupeLedger(db1, new EnvelopeDedupe(2), () => 1);
    l1.record([0, 1, 2, 5].map((seq) => ({ gatewayId: 'gw', bootId: 'b1', seq, digest: 'x' })), 1);
    await l1.commit({ gatewayId: 'gw', bootId: 'b2', seq: 0, digest: 'y' });
    db1.close();
    const d2 = new EnvelopeDedupe(2);
    const db2 = openDatabase(file);
    const l2 = new DedupeLedger(db2, d2, () => 2);
    expect([0, 1, 2, 3, 4, 5].map((s) => d2.isDuplicate('gw', 'b1', s))).toEqual([true, true, true, false, false, true]);
    expect(d2.isDuplicate('gw', 'b2', 0)).toBe(true);
    l2.record([{ gatewayId: 'gw', bootId: 'b3', seq: 0, digest: 'z' }], 3);
    expect((db2.prepare('SELECT boot_id AS b FROM envelope_window ORDER BY boot_id').all() as { b: string }[]).map((r) => r.b)).toEqual(['b2', 'b3']);
    db2.close();
  });
});

// A shard moves between servers: the windows of its gateways go with it (server/cluster/windows.ts).
describe('EnvelopeDedupe windows of one shard', () => {
  it('gives the windows of the sites asked for, and the next owner knows what either stored', () => {
    const a = new EnvelopeDedupe();
    for (const seq of [0, 1, 2, 3, 7]) a.mark('gw-1', 'boot', seq, `d${seq}`, 'plant-a');
    a.mark('gw-9', 'boot', 0, 'x', 'plant-b');
    const moved = a.windows((site) => site === 'plant-a');
    expect(moved.map((w) => [w.gatewayId, w.site, w.state.floor, w.state.ahead])).toEqual([['gw-1', 'plant-a', 3, [7]]]);

    // b had stored seq 5 itself (an earlier owner), and takes a's window over.
    const b = new EnvelopeDedupe();
    b.mark('gw-1', 'boot', 5, 'd5', 'plant-a');
    for (const w of moved) b.merge(w.gatewayId, w.bootId, w.site, w.state);
    expect([0, 3, 4, 5, 6, 7, 8].map((seq) => b.check('gw-1', 'boot', seq))).toEqual(['duplicate', 'duplicate', 'new', 'duplicate', 'new', 'duplicate', 'new']);
    // The digests came along: the same seq with other bytes is still told from a resend.
    expect(b.check('gw-1', 'boot', 2, 'other')).toBe('conflict');
    b.mark('gw-1', 'boot', 4, 'd4');
    expect(b.floor('gw-1', 'boot')).toBe(5);
    // A window merged again, or an older one, takes nothing back.
    b.merge('gw-1', 'boot', 'plant-a', { floor: 1, ahead: [] });
    expect(b.floor('gw-1', 'boot')).toBe(5);
    expect(b.windows((s) => s === 'plant-a').length).toBe(1);
  });
});
