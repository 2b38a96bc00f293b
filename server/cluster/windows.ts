import { type Migration, type Sql, migrateStore, shardOf } from '../../core/index.ts';
import type { EnvelopeDedupe } from '../../ingest/index.ts';

const MIGRATIONS: Migration[] = [
  {
    // What each shard's owner knows of the Envelopes it stored (see EnvelopeDedupe), for the next owner.
    id: 'cluster/002-envelope-windows',
    sqlite: `CREATE TABLE IF NOT EXISTS shard_envelope_window (gateway_id TEXT NOT NULL, boot_id TEXT NOT NULL, shard INTEGER NOT NULL, site TEXT NOT NULL,
      floor INTEGER NOT NULL, ahead TEXT NOT NULL, digests TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (gateway_id, boot_id));
      CREATE INDEX IF NOT EXISTS shard_envelope_window_shard ON shard_envelope_window (shard)`,
    postgres: `CREATE TABLE IF NOT EXISTS shard_envelope_window (gateway_id TEXT NOT NULL, boot_id TEXT NOT NULL, shard INTEGER NOT NULL, site TEXT NOT NULL,
      floor BIGINT NOT NULL, ahead TEXT NOT NULL, digests TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (gateway_id, boot_id));
      CREATE INDEX IF NOT EXISTS shard_envelope_window_shard ON shard_envelope_window (shard)`,
  },
];

/** Rows per INSERT, well under either engine's limit on bound parameters. */
const BATCH = 200;
/** A boot not written for this long is gone: its gateway restarted since (8 boots are kept in memory). */
const KEEP_MS = 30 * 86_400_000;

/**
 * The dedupe windows of a shard's gateways in the shared store: saved with the shard's rule state and
 * merged into the next owner's, so an Envelope a gateway sends again after the shard moved (its PUBACK
 * was lost in a broker failover) is recognised by the server that did not store it.
 */
export class ShardWindows {
  private constructor(
    private readonly sql: Sql,
    private readonly dedupe: EnvelopeDedupe,
  ) {}

  static async open(sql: Sql, dedupe: EnvelopeDedupe): Promise<ShardWindows> {
    await migrateStore(sql, MIGRATIONS);
    return new ShardWindows(sql, dedupe);
  }

  /** Writes the shard's windows in one transaction; `guard` refuses when the lease is gone. Returns rows written. */
  save(shard: number, now: number, guard?: () => Promise<void>): Promise<number> {
    const rows = this.dedupe.windows((site) => shardOf(site) === shard);
    return this.sql.tx(async () => {
      await guard?.();
      for (let i = 0; i < rows.length; i += BATCH) {
        const part = rows.slice(i, i + BATCH);
        const values = part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
        await this.sql.run(
          `INSERT INTO shard_envelope_window (gateway_id, boot_id, shard, site, floor, ahead, digests, updated_at) VALUES ${values}
           ON CONFLICT (gateway_id, boot_id) DO UPDATE SET shard = excluded.shard, site = excluded.site, floor = excluded.floor, ahead = excluded.ahead, digests = excluded.digests, updated_at = excluded.updated_at`,
          part.flatMap((r) => [r.gatewayId, r.bootId, shard, r.site, r.state.floor, JSON.stringify(r.state.ahead), JSON.stringify(r.state.digests ?? []), now]),
        );
      }
      await this.sql.run('DELETE FROM shard_envelope_window WHERE shard = ? AND updated_at < ?', [shard, now - KEEP_MS]);
      return rows.length;
    });
  }

  /** Merges the windows the shard's last owner saved into this server's; returns how many. */
  async resume(shard: number): Promise<number> {
    const rows = await this.sql.all<{ gateway_id: string; boot_id: string; site: string; floor: number | string; ahead: string; digests: string }>(
      'SELECT gateway_id, boot_id, site, floor, ahead, digests FROM shard_envelope_window WHERE shard = ? ORDER BY updated_at',
      [shard],
    );
    for (const r of rows) {
      this.dedupe.merge(r.gateway_id, r.boot_id, r.site, { floor: Number(r.floor), ahead: JSON.parse(r.ahead) as number[], digests: JSON.parse(r.digests) as [number, string][] });
    }
    return rows.length;
  }
}
