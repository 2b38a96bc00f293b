import { migrate } from '../../core/index.ts';
import type { Clock, Db, Logger, MetricId, Reading, Service, TimerHandle } from '../../core/index.ts';

const MINUTE = 60_000;

interface Agg {
  minute: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}

export interface RollupRow {
  site: string;
  deviceId: string;
  metric: MetricId;
  /** Start of the minute, epoch ms. */
  minute: number;
  count: number;
  mean: number;
  min: number;
  max: number;
  last: number;
}

/**
 * Per-minute rollups (count, mean, min, max, last) per device and metric, in SQLite: the history the
 * console charts and backtests run on, without a round trip to the TSDB. Readings are folded in memory
 * and flushed as upserts that merge with what a minute already holds, so readings of one minute may
 * arrive in any number of batches, late or early.
 */
export class HistoryRollups {
  private readonly open = new Map<string, Map<string, Agg & { site: string }>>();
  private pending: (Agg & { site: string; deviceId: string; metric: string })[] = [];
  private readonly upsert;

  constructor(private readonly db: Db) {
    migrate(db, [{ id: 'history/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS rollup_1m (
      site TEXT NOT NULL, device_id TEXT NOT NULL, metric TEXT NOT NULL, minute INTEGER NOT NULL,
      count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
      PRIMARY KEY (device_id, metric, minute)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS rollup_1m_minute ON rollup_1m (minute);` }]);
    this.upsert = db.prepare(`INSERT INTO rollup_1m (site, device_id, metric, minute, count, sum, min, max, last)
      VALUES (@site, @deviceId, @metric, @minute, @count, @sum, @min, @max, @last)
      ON CONFLICT (device_id, metric, minute) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum,
        min = MIN(min, excluded.min), max = MAX(max, excluded.max), last = excluded.last, site = excluded.site`);
  }

  add(site: string, readings: readonly Reading[]): void {
    for (const r of readings) {
      let byMetric = this.open.get(r.deviceId);
      if (!byMetric) this.open.set(r.deviceId, (byMetric = new Map()));
      const minute = r.ts - (r.ts % MINUTE);
      const a = byMetric.get(r.metric);
      if (a && a.minute === minute) {
        a.count++;
        a.sum += r.value;
        if (r.value < a.min) a.min = r.value;
        if (r.value > a.max) a.max = r.value;
        a.last = r.value;
        continue;
      }
      if (a) this.pending.push({ ...a, deviceId: r.deviceId, metric: r.metric });
      byMetric.set(r.metric, { site, minute, count: 1, sum: r.value, min: r.value, max: r.value, last: r.value });
    }
  }

  /** Writes everything folded so far (closed minutes and the open ones) in one transaction. */
  flush(): number {
    const rows = this.pending;
    this.pending = [];
    for (const [deviceId, byMetric] of this.open) for (const [metric, a] of byMetric) rows.push({ ...a, deviceId, metric });
    this.open.clear();
    if (rows.length === 0) return 0;
    this.db.transaction(() => {
      for (const r of rows) this.upsert.run({ site: r.site, deviceId: r.deviceId, metric: r.metric, minute: r.minute, count: r.count, sum: r.sum, min: r.min, max: r.max, last: r.last });
    })();
    return rows.length;
  }

  /** Rollups in time order (then device, metric), optionally for some devices and metrics. */
  *rows(q: { from: number; to: number; devices?: readonly string[]; metrics?: readonly string[] }): Generator<RollupRow> {
    const where = ['minute >= ?', 'minute < ?'];
    const args: (string | number)[] = [q.from, q.to];
    if (q.devices?.length) {
      where.push(`device_id IN (${q.devices.map(() => '?').join(',')})`);
      args.push(...q.devices);
    }
    if (q.metrics?.length) {
      where.push(`metric IN (${q.metrics.map(() => '?').join(',')})`);
      args.push(...q.metrics);
    }
    const stmt = this.db.prepare(`SELECT site, device_id, metric, minute, count, sum, min, max, last FROM rollup_1m WHERE ${where.join(' AND ')} ORDER BY minute, device_id, metric`);
    for (const r of stmt.iterate(...args) as Iterable<{ site: string; device_id: string; metric: MetricId; minute: number; count: number; sum: number; min: number; max: number; last: number }>) {
      yield { site: r.site, deviceId: r.device_id, metric: r.metric, minute: r.minute, count: r.count, mean: r.sum / r.count, min: r.min, max: r.max, last: r.last };
    }
  }

  /** The rollups as readings (the minute's mean at the minute's start), for backtests; flushes first. */
  *readings(q: { from: number; to: number; devices?: readonly string[] }): Generator<Reading & { site: string }> {
    this.flush();
    for (const r of this.rows(q)) yield { deviceId: r.deviceId, metric: r.metric, value: r.mean, ts: r.minute, site: r.site };
  }

  /** Drops rollups older than `before`. */
  /** The site a device last reported from, as far as the stored history knows (it outlives a restart). */
  siteOf(deviceId: string): string | undefined {
    const row = this.db.prepare('SELECT site FROM rollup_1m WHERE device_id = ? ORDER BY minute DESC LIMIT 1').get(deviceId) as { site: string } | undefined;
    return row?.site;
  }

  hasSite(site: string): boolean {
    return this.db.prepare('SELECT 1 FROM rollup_1m WHERE site = ? LIMIT 1').get(site) !== undefined;
  }

  prune(before: number): number {
    return this.db.prepare('DELETE FROM rollup_1m WHERE minute < ?').run(before).changes;
  }
}

/** Flushes the rollups every `flushEvery` and prunes what is older than `retention` once an hour. */
export function historyService(rollups: HistoryRollups, opts: { flushEvery: number; retention: number }, clock: Clock, log: Logger): Service {
  let timer: TimerHandle | undefined;
  let lastPrune = 0;
  let stopped = false;
  const loop = () => {
    try {
      rollups.flush();
      const now = clock.now();
      if (now - lastPrune > 3_600_000) {
        lastPrune = now;
        const n = rollups.prune(now - opts.retention);
        if (n > 0) log.info({ rows: n }, 'pruned old history rollups');
      }
    } catch (err) {
      log.error({ err }, 'history flush failed');
    }
    if (!stopped) timer = clock.setTimeout(loop, opts.flushEvery);
  };
  return {
    name: 'history',
    async start() {
      stopped = false;
      timer = clock.setTimeout(loop, opts.flushEvery);
    },
    async stop() {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
      rollups.flush();
    },
  };
}
