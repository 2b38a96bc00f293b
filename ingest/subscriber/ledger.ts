import { type Db, GroupCommit, migrate } from '../../core/index.ts';
import type { EnvelopeKey, EnvelopeRecorder } from '../sinks/types.ts';
import type { EnvelopeDedupe } from './dedupe.ts';

/**
 * The dedupe windows on disk, written in the same SQLite transaction as the readings they vouch for
 * (the TSDB spool), so after a crash a resend is recognised exactly when its readings were kept: on
 * any TSDB, not only on one that overwrites identical points. One row per gateway boot.
 */
export class DedupeLedger implements EnvelopeRecorder {
  private readonly stmt;
  private readonly committer: GroupCommit<EnvelopeKey>;

  constructor(
    db: Db,
    private readonly dedupe: EnvelopeDedupe,
    now: () => number,
  ) {
    migrate(db, [{ id: 'dedupe-ledger/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS envelope_window (gateway_id TEXT NOT NULL, boot_id TEXT NOT NULL, floor INTEGER NOT NULL,
      ahead TEXT NOT NULL, digests TEXT NOT NULL DEFAULT '[]', updated_at INTEGER NOT NULL, PRIMARY KEY (gateway_id, boot_id)) WITHOUT ROWID` }]);
    this.stmt = {
      upsert: db.prepare(`INSERT INTO envelope_window (gateway_id, boot_id, floor, ahead, digests, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (gateway_id, boot_id) DO UPDATE SET floor = excluded.floor, ahead = excluded.ahead, digests = excluded.digests, updated_at = excluded.updated_at`),
      drop: db.prepare('DELETE FROM envelope_window WHERE gateway_id = ? AND boot_id = ?'),
      all: db.prepare('SELECT gateway_id AS gatewayId, boot_id AS bootId, floor, ahead, digests FROM envelope_window ORDER BY updated_at'),
    };
    for (const r of this.stmt.all.all() as { gatewayId: string; bootId: string; floor: number; ahead: string; digests: string }[]) {
      dedupe.restore(r.gatewayId, r.bootId, { floor: r.floor, ahead: JSON.parse(r.ahead) as number[], digests: JSON.parse(r.digests) as [number, string][] });
    }
    for (const e of dedupe.takeEvicted()) this.stmt.drop.run(e.gatewayId, e.bootId);
    const tx = db.transaction((keys: EnvelopeKey[]) => this.record(keys, now()));
    this.committer = new GroupCommit((keys) => {
      try {
        tx(keys);
      } catch (err) {
        this.undo(keys);
        throw err;
      }
    });
  }

  /** Records an Envelope that no sink stored (none configured, or no valid readings), in its own transaction. */
  commit(key: EnvelopeKey): Promise<void> {
    return this.committer.add(key);
  }

  /**
   * Marks these Envelopes as stored and writes the windows they touch. Call inside the transaction
   * that stores their readings; if that transaction fails, call {@link undo} with the same keys.
   */
  record(keys: readonly EnvelopeKey[], now: number): void {
    const touched = new Map<string, EnvelopeKey>();
    for (const k of keys) {
      this.dedupe.mark(k.gatewayId, k.bootId, k.seq, k.digest, k.site);
      touched.set(`${k.gatewayId}\u0000${k.bootId}`, k);
    }
    for (const k of touched.values()) {
      const s = this.dedupe.state(k.gatewayId, k.bootId);
      if (s) this.stmt.upsert.run(k.gatewayId, k.bootId, s.floor, JSON.stringify(s.ahead), JSON.stringify(s.digests ?? []), now);
    }
    for (const e of this.dedupe.takeEvicted()) this.stmt.drop.run(e.gatewayId, e.bootId);
  }

  undo(keys: readonly EnvelopeKey[]): void {
    for (const k of keys) this.dedupe.unmark(k.gatewayId, k.bootId, k.seq);
  }
}
