import { type Clock, type Logger, type Migration, type Service, type Sql, migrateStore, periodicService } from '../../core/index.ts';
import type { FleetLevel } from '../../rules/index.ts';

const MIGRATIONS: Migration[] = [
  {
    // Each device's level as its fleet rules last published it, so a server compares a device with the
    // siblings other servers hold. `written_at` (the writer's clock) lets a reader take only what is new.
    id: 'cluster/003-fleet-levels',
    sqlite: `CREATE TABLE IF NOT EXISTS fleet_level (group_key TEXT NOT NULL, device_id TEXT NOT NULL, level REAL NOT NULL, at INTEGER NOT NULL,
      member_id TEXT NOT NULL, written_at INTEGER NOT NULL, PRIMARY KEY (group_key, device_id));
      CREATE INDEX IF NOT EXISTS fleet_level_written ON fleet_level (written_at)`,
    postgres: `CREATE TABLE IF NOT EXISTS fleet_level (group_key TEXT NOT NULL, device_id TEXT NOT NULL, level DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL,
      member_id TEXT NOT NULL, written_at BIGINT NOT NULL, PRIMARY KEY (group_key, device_id));
      CREATE INDEX IF NOT EXISTS fleet_level_written ON fleet_level (written_at)`,
  },
];

/** Rows per INSERT, well under either engine's limit on bound parameters. */
const BATCH = 200;
/**
 * How far back a read reaches before the last one: servers' clocks differ a little, and a row written
 * just before the last read may only now be visible. Taking a row twice is harmless.
 */
const OVERLAP_MS = 5 * 60_000;
/** A level not published for this long is dropped: no fleet rule waits this long for a sibling. */
const KEEP_MS = 30 * 86_400_000;

/** Where the rule engine's fleet board is read from and written to. */
export interface FleetBoardAccess {
  fleetChanges(): FleetLevel[];
  fleetShared(levels: readonly FleetLevel[]): void;
  mergeFleet(levels: readonly FleetLevel[]): number;
}

/**
 * The fleet rules' board shared through the store: each server writes the levels its own devices
 * published and takes in the others', so a fleet rule (fleet-outlier) compares a device with every
 * sibling of its model, whichever server holds them. Written and read every `cluster.fleetShareEvery`.
 */
export class FleetLevels {
  private lastRead: number | undefined;

  private constructor(
    private readonly sql: Sql,
    private readonly member: string,
  ) {}

  static async open(sql: Sql, member: string): Promise<FleetLevels> {
    await migrateStore(sql, MIGRATIONS);
    return new FleetLevels(sql, member);
  }

  /** Writes the board's new levels, then merges the others' written since the last read. */
  async share(board: FleetBoardAccess, now: number): Promise<{ written: number; merged: number }> {
    const mine = board.fleetChanges();
    for (let i = 0; i < mine.length; i += BATCH) {
      const part = mine.slice(i, i + BATCH);
      await this.sql.run(
        `INSERT INTO fleet_level (group_key, device_id, level, at, member_id, written_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (group_key, device_id) DO UPDATE SET level = excluded.level, at = excluded.at, member_id = excluded.member_id, written_at = excluded.written_at`,
        part.flatMap((l) => [l.key, l.deviceId, l.level, l.at, this.member, now]),
      );
    }
    // Only once they are in the store: a write that failed is tried again at the next share.
    board.fleetShared(mine);
    const since = this.lastRead === undefined ? 0 : this.lastRead - OVERLAP_MS;
    const rows = await this.sql.all<{ group_key: string; device_id: string; level: number | string; at: number | string }>(
      'SELECT group_key, device_id, level, at FROM fleet_level WHERE member_id <> ? AND written_at >= ? AND at >= ?',
      [this.member, since, now - KEEP_MS],
    );
    this.lastRead = now;
    // PostgreSQL hands BIGINT back as text.
    const merged = board.mergeFleet(rows.map((r) => ({ key: r.group_key, deviceId: r.device_id, level: Number(r.level), at: Number(r.at) })));
    return { written: mine.length, merged };
  }

  /** Drops levels nobody has published for {@link KEEP_MS}. */
  async prune(now: number): Promise<number> {
    return (await this.sql.run('DELETE FROM fleet_level WHERE written_at < ?', [now - KEEP_MS])).changes;
  }
}

/**
 * Shares the fleet board every `every` ms while the server runs, and once more as it stops. Levels move
 * over days (a fleet rule smooths over `smoothing`, 1 d by default), so a minute's delay changes nothing.
 * A failed share is tried again whole at the next round.
 */
export function fleetLevelsService(levels: FleetLevels, board: () => FleetBoardAccess, every: number, clock: Clock, log: Logger): Service {
  let lastPrune = 0;
  const share = async () => {
    try {
      const now = clock.now();
      const r = await levels.share(board(), now);
      if (r.written || r.merged) log.debug(r, 'fleet levels shared');
      if (now - lastPrune > 3_600_000) {
        lastPrune = now;
        await levels.prune(now);
      }
    } catch (err) {
      log.warn({ err }, 'fleet levels not shared; next round tries again');
    }
  };
  return periodicService('fleet-levels', { everyMs: every, clock, log }, share);
}
