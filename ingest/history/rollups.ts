import { type Migration, type Param, type Sql, migrateStore, periodicService } from '../../core/index.ts';
import type { Clock, Logger, MetricId, Reading, Service } from '../../core/index.ts';

const MINUTE = 60_000;
// Rows per upsert statement: one statement per few hundred rows, well under either engine's parameter limit.
const UPSERT_BATCH = 300;
// Rows per page when history is read as a stream (exports, backtests).
const PAGE = 5_000;
// One lock id for creating monthly partitions, so two servers adding the same month do not collide.
const PARTITION_LOCK = 0x76_68_69_73; // 'vhis'

interface Agg {
  minute: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}
type Keyed = Agg & { site: string; deviceId: string; metric: string };

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

export interface RollupQuery {
  from: number;
  to: number;
  devices?: readonly string[];
  metrics?: readonly string[];
}

export const HISTORY_MIGRATIONS: Migration[] = [
  {
    id: 'history/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS rollup_1m (
      site TEXT NOT NULL, device_id TEXT NOT NULL, metric TEXT NOT NULL, minute INTEGER NOT NULL,
      count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
      PRIMARY KEY (device_id, metric, minute)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS rollup_1m_minute ON rollup_1m (minute);`,
    // Partitioned by month on the minute: retention drops whole months instead of deleting rows, and
    // a chart's time range touches only the months it covers. Partitions are made as months arrive.
    postgres: `CREATE TABLE IF NOT EXISTS rollup_1m (
      site TEXT NOT NULL, device_id TEXT NOT NULL, metric TEXT NOT NULL, minute BIGINT NOT NULL,
      count BIGINT NOT NULL, sum DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL, last DOUBLE PRECISION NOT NULL,
      PRIMARY KEY (device_id, metric, minute)) PARTITION BY RANGE (minute);
      CREATE INDEX IF NOT EXISTS rollup_1m_minute ON rollup_1m (minute);
      CREATE INDEX IF NOT EXISTS rollup_1m_site ON rollup_1m (site);`,
  },
];

/** The first instant of the month `t` falls in, and of the next one (UTC). */
function monthOf(t: number): { name: string; from: number; to: number } {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { name: `rollup_1m_${y}${String(m + 1).padStart(2, '0')}`, from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) };
}

/**
 * Per-minute rollups (count, mean, min, max, last) per device and metric, in the server's store: the
 * history the console charts and backtests run on, without a round trip to the TSDB. Readings are
 * folded in memory and flushed as batched upserts that merge with what a minute already holds, so
 * readings of one minute may arrive in any number of batches, late or early, and on several servers.
 * Reads see what is still folding in memory too, so nobody has to flush before reading.
 */
export class HistoryRollups {
  /** The open minute of each series, by device and metric; `touched` since the last flush. */
  private readonly open = new Map<string, Map<string, Keyed & { touched: boolean }>>();
  private pending: Keyed[] = [];
  /** Rows a flush is writing now; reads merge them until it commits. */
  private writing: Keyed[] = [];
  private flushing: Promise<number> | undefined;
  private flushes = 0;
  private readonly partitions = new Set<string>();
  private readonly sites = new Map<string, string>();

  private constructor(readonly sql: Sql) {}

  static async open(sql: Sql): Promise<HistoryRollups> {
    await migrateStore(sql, HISTORY_MIGRATIONS);
    return new HistoryRollups(sql);
  }

  add(site: string, readings: readonly Reading[]): void {
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      let byMetric = this.open.get(r.deviceId);
      if (!byMetric) {
        this.open.set(r.deviceId, (byMetric = new Map()));
        this.sites.set(r.deviceId, site);
      }
      const minute = r.ts - (r.ts % MINUTE);
      const a = byMetric.get(r.metric);
      if (a && a.minute === minute) {
        a.count++;
        a.sum += r.value;
        if (r.value < a.min) a.min = r.value;
        if (r.value > a.max) a.max = r.value;
        a.last = r.value;
        a.site = site;
        a.touched = true;
        continue;
      }
      // The minute closed (or a late reading reopened an older one): the object itself moves to the
      // rows to write, nothing is copied.
      if (a) this.pending.push(a);
      byMetric.set(r.metric, { site, deviceId: r.deviceId, metric: r.metric, minute, count: 1, sum: r.value, min: r.value, max: r.value, last: r.value, touched: true });
    }
  }

  /**
   * Writes the minutes that closed, and the open minutes of series that have received nothing since the
   * previous flush (a device that stopped), in one transaction; one flush at a time. A series that keeps
   * reporting is written once per minute, not once per flush: at 100,000 series, rewriting every open
   * minute every two seconds was most of the intake's cost.
   */
  async flush(): Promise<number> {
    return this.flushRows(false);
  }

  /** Writes everything folded so far, open minutes too (on stop, and before a paged read). */
  async flushAll(): Promise<number> {
    return this.flushRows(true);
  }

  private async flushRows(all: boolean): Promise<number> {
    while (this.flushing) await this.flushing;
    const taken = this.pending;
    this.pending = [];
    for (const [deviceId, byMetric] of this.open) {
      for (const [metric, a] of byMetric) {
        if (!all && a.touched) {
          a.touched = false;
          continue;
        }
        taken.push(a);
        byMetric.delete(metric);
      }
      if (byMetric.size === 0) this.open.delete(deviceId);
    }
    const rows = sortedMerged(taken);
    if (rows.length === 0) return 0;
    this.writing = rows;
    this.flushes++;
    this.flushing = this.write(rows).finally(() => {
      this.writing = [];
      this.flushing = undefined;
    });
    try {
      return await this.flushing;
    } catch (err) {
      // Not lost: folded back in, to be written by the next flush.
      this.pending.push(...rows);
      throw err;
    }
  }

  private async write(rows: Keyed[]): Promise<number> {
    const pg = this.sql.dialect === 'postgres';
    const merge = pg
      ? 'count = rollup_1m.count + excluded.count, sum = rollup_1m.sum + excluded.sum, min = LEAST(rollup_1m.min, excluded.min), max = GREATEST(rollup_1m.max, excluded.max), last = excluded.last, site = excluded.site'
      : 'count = count + excluded.count, sum = sum + excluded.sum, min = MIN(min, excluded.min), max = MAX(max, excluded.max), last = excluded.last, site = excluded.site';
    await this.sql.tx(async () => {
      if (pg) await this.ensurePartitions(rows);
      for (let i = 0; i < rows.length; i += UPSERT_BATCH) {
        const batch = rows.slice(i, i + UPSERT_BATCH);
        const args: Param[] = [];
        for (const r of batch) args.push(r.site, r.deviceId, r.metric, r.minute, r.count, r.sum, r.min, r.max, r.last);
        await this.sql.run(
          `INSERT INTO rollup_1m (site, device_id, metric, minute, count, sum, min, max, last) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (device_id, metric, minute) DO UPDATE SET ${merge}`,
          args,
        );
      }
    });
    return rows.length;
  }

  private async ensurePartitions(rows: readonly Keyed[]): Promise<void> {
    const months = new Map<string, ReturnType<typeof monthOf>>();
    for (const r of rows) {
      const m = monthOf(r.minute);
      if (!this.partitions.has(m.name)) months.set(m.name, m);
    }
    if (months.size === 0) return;
    await createMonths(this.sql, months.values());
    for (const name of months.keys()) this.partitions.add(name);
  }

  /** Makes the monthly partitions from the month of `from` to that of `to` (PostgreSQL; a copy of history needs them first). */
  static async ensureMonths(sql: Sql, from: number, to: number): Promise<void> {
    const months: ReturnType<typeof monthOf>[] = [];
    for (let m = monthOf(from); m.from <= to; m = monthOf(m.to)) months.push(m);
    await sql.tx(() => createMonths(sql, months));
  }

  /** What is folded in memory and not yet written that a query asks for, one row per (device, metric, minute). */
  private unflushed(q: RollupQuery): Keyed[] {
    const out: Keyed[] = [];
    for (const r of this.pending) if (matches(r, q)) out.push(r);
    const devices = q.devices?.length ? q.devices : this.open.keys();
    for (const d of devices) {
      const byMetric = this.open.get(d);
      if (byMetric) for (const a of byMetric.values()) if (matches(a, q)) out.push(a);
    }
    return mergeRows(out);
  }

  /**
   * Rollups in time order (then device, metric), optionally for some devices and metrics, with what
   * is still folding in memory merged in. For a chart or a ticket's evidence: read whole.
   */
  async rows(q: RollupQuery): Promise<RollupRow[]> {
    for (;;) {
      // Outside a transaction, wait for a flush under way: its rows are then either stored or not
      // yet taken. Inside one (a ticket's evidence), on SQLite no flush can commit until it ends.
      if (this.flushing && !this.sql.inTx()) await this.flushing.catch(() => undefined);
      const started = this.flushes;
      const stored = await this.select(q, undefined, -1);
      // A flush that started meanwhile may have committed between the select and now: read again.
      if (started !== this.flushes && !this.sql.inTx()) continue;
      const extra = [...this.unflushed(q), ...this.writing.filter((r) => matches(r, q))];
      if (extra.length === 0) return stored.map(toRow);
      const byKey = new Map<string, Keyed>();
      for (const r of stored) byKey.set(`${r.deviceId}\u0000${r.metric}\u0000${r.minute}`, r);
      for (const r of extra) {
        const k = `${r.deviceId}\u0000${r.metric}\u0000${r.minute}`;
        const a = byKey.get(k);
        if (!a) byKey.set(k, { ...r });
        else mergeInto(a, r);
      }
      return [...byKey.values()].sort(byTime).map(toRow);
    }
  }

  /** Every stored rollup of a range, a page at a time, after a flush: for exports and backtests of any size. */
  async *iterate(q: RollupQuery): AsyncGenerator<RollupRow> {
    await this.flushAll();
    let after: Keyed | undefined;
    for (;;) {
      const page = await this.select(q, after, PAGE);
      for (const r of page) yield toRow(r);
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }

  /** The rollups as readings (the minute's mean at the minute's start), for backtests. */
  async *readings(q: { from: number; to: number; devices?: readonly string[] }): AsyncGenerator<Reading & { site: string }> {
    for await (const r of this.iterate(q)) yield { deviceId: r.deviceId, metric: r.metric, value: r.mean, ts: r.minute, site: r.site };
  }

  private async select(q: RollupQuery, after: Keyed | undefined, limit: number): Promise<Keyed[]> {
    const where = ['minute >= ?', 'minute < ?'];
    const args: Param[] = [q.from, q.to];
    if (q.devices?.length) {
      where.push(`device_id IN (${q.devices.map(() => '?').join(',')})`);
      args.push(...q.devices);
    }
    if (q.metrics?.length) {
      where.push(`metric IN (${q.metrics.map(() => '?').join(',')})`);
      args.push(...q.metrics);
    }
    if (after) {
      where.push('(minute, device_id, metric) > (?, ?, ?)');
      args.push(after.minute, after.deviceId, after.metric);
    }
    if (limit > 0) args.push(limit);
    const rows = await this.sql.all<{ site: string; device_id: string; metric: string; minute: number; count: number; sum: number; min: number; max: number; last: number }>(
      `SELECT site, device_id, metric, minute, count, sum, min, max, last FROM rollup_1m WHERE ${where.join(' AND ')} ORDER BY minute, device_id, metric${limit > 0 ? ' LIMIT ?' : ''}`,
      args,
    );
    return rows.map((r) => ({ site: r.site, deviceId: r.device_id, metric: r.metric, minute: r.minute, count: r.count, sum: r.sum, min: r.min, max: r.max, last: r.last }));
  }

  /** The site a device last reported from, as far as the stored history knows (it outlives a restart). */
  async siteOf(deviceId: string): Promise<string | undefined> {
    const known = this.sites.get(deviceId);
    if (known !== undefined) return known;
    const row = await this.sql.get<{ site: string }>('SELECT site FROM rollup_1m WHERE device_id = ? ORDER BY minute DESC LIMIT 1', [deviceId]);
    if (row) this.sites.set(deviceId, row.site);
    return row?.site;
  }

  /** The minute of a device's oldest reading the history still holds (retention may have pruned older ones). */
  async firstMinute(deviceId: string): Promise<number | undefined> {
    const row = await this.sql.get<{ minute: number }>('SELECT minute FROM rollup_1m WHERE device_id = ? ORDER BY minute LIMIT 1', [deviceId]);
    return row === undefined ? undefined : Number(row.minute);
  }

  async hasSite(site: string): Promise<boolean> {
    for (const s of this.sites.values()) if (s === site) return true;
    return (await this.sql.get('SELECT 1 AS x FROM rollup_1m WHERE site = ? LIMIT 1', [site])) !== undefined;
  }

  /**
   * Drops rollups older than `before`. On PostgreSQL whole months go, once all of a month is older
   * than `before` (a month partly inside the retention is kept whole until it has all passed).
   */
  async prune(before: number): Promise<number> {
    if (this.sql.dialect === 'sqlite') return (await this.sql.run('DELETE FROM rollup_1m WHERE minute < ?', [before])).changes;
    const parts = await this.sql.all<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'rollup_1m'");
    let dropped = 0;
    for (const { name } of parts) {
      const m = /^rollup_1m_(\d{4})(\d{2})$/.exec(name);
      if (!m) continue;
      const end = Date.UTC(Number(m[1]), Number(m[2]), 1);
      if (end > before) continue;
      const n = await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${name}`);
      await this.sql.exec(`DROP TABLE IF EXISTS ${name}`);
      this.partitions.delete(name);
      dropped += n?.n ?? 0;
    }
    return dropped;
  }

  /** The monthly partitions on PostgreSQL (none on SQLite), oldest first. */
  async months(): Promise<string[]> {
    if (this.sql.dialect === 'sqlite') return [];
    const parts = await this.sql.all<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'rollup_1m' ORDER BY 1");
    return parts.map((p) => p.name);
  }
}

async function createMonths(sql: Sql, months: Iterable<ReturnType<typeof monthOf>>): Promise<void> {
  await sql.run('SELECT pg_advisory_xact_lock(?)', [PARTITION_LOCK]);
  for (const m of months) await sql.exec(`CREATE TABLE IF NOT EXISTS ${m.name} PARTITION OF rollup_1m FOR VALUES FROM (${m.from}) TO (${m.to})`);
}

/** Rows with one (device, metric, minute) each, merged in order (an upsert may not touch a row twice). */
function mergeRows(rows: readonly Keyed[]): Keyed[] {
  const byKey = new Map<string, Keyed>();
  for (const r of rows) {
    const k = `${r.deviceId}\u0000${r.metric}\u0000${r.minute}`;
    const a = byKey.get(k);
    if (!a) byKey.set(k, { site: r.site, deviceId: r.deviceId, metric: r.metric, minute: r.minute, count: r.count, sum: r.sum, min: r.min, max: r.max, last: r.last });
    else mergeInto(a, r);
  }
  return [...byKey.values()];
}

/**
 * The rows to write, in key order with the rows of one key merged: sorted, consecutive upserts land
 * on neighbouring pages of the table's index instead of all over it, and merging needs no key strings.
 */
function sortedMerged(rows: Keyed[]): Keyed[] {
  rows.sort(byKey);
  const out: Keyed[] = [];
  let prev: Keyed | undefined;
  for (const r of rows) {
    if (prev && prev.deviceId === r.deviceId && prev.metric === r.metric && prev.minute === r.minute) mergeInto(prev, r);
    else out.push((prev = r));
  }
  return out;
}

function byKey(a: Keyed, b: Keyed): number {
  return (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0) || a.minute - b.minute;
}

function mergeInto(a: Keyed, r: Keyed): void {
  a.count += r.count;
  a.sum += r.sum;
  if (r.min < a.min) a.min = r.min;
  if (r.max > a.max) a.max = r.max;
  a.last = r.last;
  a.site = r.site;
}

function matches(r: Keyed, q: RollupQuery): boolean {
  return r.minute >= q.from && r.minute < q.to && (!q.devices?.length || q.devices.includes(r.deviceId)) && (!q.metrics?.length || q.metrics.includes(r.metric));
}

function byTime(a: Keyed, b: Keyed): number {
  return a.minute - b.minute || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0);
}

const toRow = (r: Keyed): RollupRow => ({ site: r.site, deviceId: r.deviceId, metric: r.metric as MetricId, minute: r.minute, count: r.count, mean: r.sum / r.count, min: r.min, max: r.max, last: r.last });

/** Flushes the rollups every `flushEvery` and prunes what is older than `retention` once an hour. */
export function historyService(rollups: HistoryRollups, opts: { flushEvery: number; retention: number }, clock: Clock, log: Logger): Service {
  let lastPrune = 0;
  const flush = async () => {
    try {
      await rollups.flush();
      const now = clock.now();
      if (now - lastPrune > 3_600_000) {
        lastPrune = now;
        const n = await rollups.prune(now - opts.retention);
        if (n > 0) log.info({ rows: n }, 'pruned old history rollups');
      }
    } catch (err) {
      log.error({ err }, 'history flush failed');
    }
  };
  return periodicService('history', { everyMs: opts.flushEvery, clock, log }, flush, () => rollups.flushAll());
}
