import {
  Counter,
  Gauge,
  GroupCommit,
  type DeliveryOutcome,
  TransitionLog,
  deliveryAttempts,
  decide,
  deliveryQueue,
  migrate,
  sleep,
} from '../../core/index.ts';
import type { AcceptedBatch, EnvelopeKey, SinkDeps, TelemetrySink } from './types.ts';

/** Sends a body of spooled lines and answers with the outcome set of every output. */
export interface LineWriter {
  write(body: string): Promise<DeliveryOutcome>;
}

export interface SpoolSinkOptions {
  /** The output's name in logs and metrics (`tsdb`, `prometheus-remote-write`). */
  output: string;
  /** What it writes to, as the outage log names it ("time-series database"). */
  target: string;
  /** The spool table in the server's database, one per sink. */
  table: string;
  /** Readings per write request at most (halved while the target answers 413). */
  maxBatchReadings: number;
  /** Readings the spool holds at most; beyond that the oldest are dropped and counted. */
  maxSpoolReadings: number;
  /** Also keep the `vigil_tsdb_*` metrics that dashboards of earlier releases read (the influxdb sink). */
  legacyMetrics?: boolean;
}

export interface SpoolSinkDeps extends SinkDeps {
  /** A batch's lines joined by newlines: split and sent as they are. */
  encode(batch: AcceptedBatch): string;
  /** How many readings one line holds (when a line may hold several; else one each). */
  readingsIn?(line: string): number;
  writer: LineWriter;
}

interface SpoolRow {
  id: number;
  lines: string;
  count: number;
}

/**
 * A sink with a durable spool: a batch is encoded and committed to a table of the server's database
 * before the gateway is acknowledged, and a flusher sends the spool oldest first, deleting rows only
 * after the target accepted them. While the target is down the spool grows and the gateways see no
 * difference; when it returns the spool drains. The target's answers follow `core/delivery`.
 */
export class SpoolSink implements TelemetrySink {
  readonly name: string;
  private readonly committer: GroupCommit<{ lines: string; count: number; at: number; envelope: EnvelopeKey | undefined }>;
  private readonly stmt;
  private readonly link: TransitionLog;
  /** Failed attempts in a row: the backoff grows with them. */
  private failures = 0;
  private readonly metrics;
  private readonly attempts: ReturnType<typeof deliveryAttempts>;
  private spooled = 0;
  private batchLimit: number;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private lastOutcome = 'none';

  constructor(
    private readonly opts: SpoolSinkOptions,
    private readonly deps: SpoolSinkDeps,
  ) {
    const { db, registry } = deps;
    const t = opts.table;
    if (!/^[a-z_]+$/.test(t)) throw new Error(`bad spool table name ${t}`);
    this.name = `sink-${opts.output}`;
    this.batchLimit = opts.maxBatchReadings;
    this.link = new TransitionLog(deps.log, deps.clock, opts.target);
    migrate(db, [{ id: `sinks/${t}/001-spool`, sqlite: `CREATE TABLE IF NOT EXISTS ${t} (id INTEGER PRIMARY KEY, lines TEXT NOT NULL, count INTEGER NOT NULL, at INTEGER NOT NULL)` }]);
    this.stmt = {
      insert: db.prepare(`INSERT INTO ${t} (lines, count, at) VALUES (?, ?, ?)`),
      take: db.prepare(`SELECT id, lines, count FROM ${t} ORDER BY id LIMIT ?`),
      deleteUpTo: db.prepare(`DELETE FROM ${t} WHERE id <= ?`),
      deleteOne: db.prepare(`DELETE FROM ${t} WHERE id = ?`),
      oldest: db.prepare(`SELECT at FROM ${t} ORDER BY id LIMIT 1`),
      oldestRows: db.prepare(`SELECT id, count FROM ${t} ORDER BY id LIMIT 256`),
    };
    this.spooled = (db.prepare(`SELECT coalesce(sum(count), 0) AS n FROM ${t}`).get() as { n: number }).n;
    const insertAll = db.transaction((rows: { lines: string; count: number; at: number }[], keys: EnvelopeKey[]) => {
      for (const r of rows) {
        this.stmt.insert.run(r.lines, r.count, r.at);
        this.spooled += r.count;
      }
      if (this.spooled > this.opts.maxSpoolReadings) this.trimSpool();
      if (keys.length > 0) deps.recorder?.record(keys, deps.clock.now());
    });
    this.committer = new GroupCommit((rows) => {
      const keys = rows.flatMap((r) => (r.envelope ? [r.envelope] : []));
      const spooled = this.spooled;
      try {
        insertAll(rows, keys);
      } catch (err) {
        this.spooled = spooled;
        if (keys.length > 0) deps.recorder?.undo(keys);
        throw err;
      }
    });

    const registers = [registry];
    this.attempts = deliveryAttempts(registry, opts.output);
    deliveryQueue(registry, opts.output, () => this.spooled);
    // prom-client calls collect() with the metric as `this`, so the sink is captured by name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const legacy = opts.legacyMetrics === true;
    this.metrics = {
      written: legacy ? new Counter({ name: 'vigil_tsdb_written_readings_total', help: 'Readings accepted by the time-series database', registers }) : undefined,
      failures: legacy ? new Counter({ name: 'vigil_tsdb_write_failures_total', help: 'Failed TSDB writes by failure class', labelNames: ['class'], registers }) : undefined,
      dropped: legacy ? new Counter({ name: 'vigil_tsdb_spool_dropped_readings_total', help: 'Readings dropped because the spool was full', registers }) : undefined,
    };
    if (legacy) {
      new Gauge({
        name: 'vigil_tsdb_spool_readings',
        help: 'Readings waiting in the spool for the time-series database',
        registers,
        collect() {
          this.set(self.spooled);
        },
      });
      new Gauge({
        name: 'vigil_tsdb_spool_oldest_age_seconds',
        help: 'How long the oldest spooled batch has waited',
        registers,
        collect() {
          const row = self.stmt.oldest.get() as { at: number } | undefined;
          this.set(row ? Math.max(0, (self.deps.clock.now() - row.at) / 1000) : 0);
        },
      });
    }
  }

  write(batch: AcceptedBatch): Promise<void> {
    if (batch.readings.length === 0) return Promise.resolve();
    const lines = this.deps.encode(batch);
    return this.committer.add({ lines, count: batch.readings.length, at: this.deps.clock.now(), envelope: batch.envelope }).then(() => this.wake?.());
  }

  get spoolReadings(): number {
    return this.spooled;
  }

  status(): Record<string, unknown> {
    return { state: this.link.isDown ? 'down' : 'up', spoolReadings: this.spooled, lastOutcome: this.lastOutcome, batchLimit: this.batchLimit };
  }

  async start(): Promise<void> {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    this.committer.flush();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const rows = this.take();
      if (rows.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          const t = setTimeout(resolve, 1000);
          t.unref();
        });
        this.wake = undefined;
        continue;
      }
      const outcome = await this.deps.writer.write(rows.map((r) => r.lines).join('\n'));
      this.lastOutcome = outcome.kind;
      if (signal.aborted && outcome.kind !== 'ok') return;
      await this.settle(rows, outcome, signal);
    }
  }

  private take(): SpoolRow[] {
    // Row by row, up to the batch: reading `batchLimit` rows at once read every row's text (a whole
    // Envelope's lines each) while the spool held a backlog, to keep a few; at 500 readings per
    // Envelope that halved the intake of a server behind on its TSDB writes (garbage collection).
    const rows: SpoolRow[] = [];
    let n = 0;
    for (const r of this.stmt.take.iterate(Math.max(1, Math.min(this.batchLimit, 10_000))) as IterableIterator<SpoolRow>) {
      if (rows.length > 0 && n + r.count > this.batchLimit) break;
      rows.push(r);
      n += r.count;
    }
    return rows;
  }

  private async settle(rows: SpoolRow[], outcome: DeliveryOutcome, signal: AbortSignal): Promise<void> {
    // The same reading of the outcome as every output's (core/delivery), with no attempt limit: a TSDB
    // outage of any length is waited out, the readings in the spool.
    const d = decide(outcome, this.failures + 1, { initialMs: 500, maxMs: 30_000, canSplit: rows.length > 1 || rows[0]!.lines.includes('\n') });
    this.attempts(d.counted);
    const readings = rows.reduce((n, r) => n + r.count, 0);
    const reason = outcome.kind === 'ok' ? '' : outcome.reason;
    switch (d.action) {
      case 'done':
        this.remove(rows);
        this.metrics.written?.inc(readings);
        this.failures = 0;
        this.link.up({ spoolReadings: this.spooled });
        if (this.batchLimit < this.opts.maxBatchReadings) this.batchLimit = Math.min(this.opts.maxBatchReadings, this.batchLimit * 2);
        return;
      case 'split':
        this.metrics.failures?.inc({ class: 'split' });
        this.batchLimit = Math.max(1, Math.floor(readings / 2));
        if (rows.length === 1) this.splitRow(rows[0]!);
        return;
      case 'dead':
        // Refused for good (or a single line too large to write): to the quarantine, where it stays visible.
        this.metrics.failures?.inc({ class: 'drop' });
        this.deps.log.error({ reason, readings }, `${this.opts.target} refused data; quarantined`);
        this.quarantineRows(rows, reason);
        return;
      case 'wait':
        this.metrics.failures?.inc({ class: outcome.kind });
        if (d.countAttempt) this.failures++;
        this.link.down(outcome.kind === 'auth' ? `${reason} (check the token, org and bucket; data is kept)` : reason, { spoolReadings: this.spooled });
        await sleep(this.deps.clock, d.ms, signal);
        return;
    }
  }

  /** Replaces one spooled row by two halves, so a 413 for a single large batch still gets through. */
  private splitRow(row: SpoolRow): void {
    const lines = row.lines.split('\n');
    const half = Math.ceil(lines.length / 2);
    const readingsIn = this.deps.readingsIn;
    const first = readingsIn ? lines.slice(0, half).reduce((n, l) => n + readingsIn(l), 0) : half;
    this.deps.db.transaction(() => {
      this.stmt.deleteOne.run(row.id);
      // Re-inserted rows go to the end of the spool; sample order within a series does not matter to a TSDB.
      this.stmt.insert.run(lines.slice(0, half).join('\n'), first, this.deps.clock.now());
      this.stmt.insert.run(lines.slice(half).join('\n'), row.count - first, this.deps.clock.now());
    })();
  }

  private quarantineRows(rows: SpoolRow[], reason: string): void {
    this.deps.db.transaction(() => {
      for (const r of rows) {
        this.deps.quarantine.add({
          at: this.deps.clock.now(),
          code: 'tsdb_rejected',
          reason,
          site: null,
          gatewayId: null,
          topic: null,
          details: [],
          payload: r.lines,
        });
      }
      this.remove(rows);
    })();
  }

  private remove(rows: SpoolRow[]): void {
    // Rows are always taken oldest first, so they are every row up to the last id (newer rows have larger ids).
    if (rows.length > 0) this.stmt.deleteUpTo.run(rows[rows.length - 1]!.id);
    this.spooled -= rows.reduce((n, r) => n + r.count, 0);
  }

  private trimSpool(): void {
    while (this.spooled > this.opts.maxSpoolReadings) {
      const rows = this.stmt.oldestRows.all() as { id: number; count: number }[];
      if (rows.length === 0) return;
      for (const r of rows) {
        this.stmt.deleteOne.run(r.id);
        this.spooled -= r.count;
        this.metrics.dropped?.inc(r.count);
        if (this.spooled <= this.opts.maxSpoolReadings) return;
      }
    }
  }
}
