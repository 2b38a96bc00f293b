import { type AuditLog, type Finding, type Migration, type Sql, Where, forUpdate, migrateStore, shardOf } from '../../core/index.ts';
import type { StateRow } from '../engine/engine.ts';
import { decodeState } from '../engine/state-codec.ts';
import { lineDiff } from '../rulesets/diff.ts';

export interface RulesetVersion {
  version: number;
  name: string;
  author: string;
  comment: string;
  createdAt: number;
  /** Line diff against the version that was active when this one was published. */
  diff: string;
}

const RULESET_MIGRATIONS: Migration[] = [
  {
    id: 'rulesets/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS ruleset_version (
        version INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, yaml TEXT NOT NULL, author TEXT NOT NULL,
        comment TEXT NOT NULL, created_at INTEGER NOT NULL, diff TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ruleset_active (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS backtest_last (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);`,
    postgres: `CREATE TABLE IF NOT EXISTS ruleset_version (
        version BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, yaml TEXT NOT NULL, author TEXT NOT NULL,
        comment TEXT NOT NULL, created_at BIGINT NOT NULL, diff TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ruleset_active (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS backtest_last (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);`,
  },
];

/** Ruleset versions, the active pointer and the audit log, in the server's store. */
export class RulesetStore {
  private constructor(
    private readonly sql: Sql,
    private readonly auditLog: AuditLog,
  ) {}

  static async open(sql: Sql, audit: AuditLog): Promise<RulesetStore> {
    await migrateStore(sql, RULESET_MIGRATIONS);
    return new RulesetStore(sql, audit);
  }

  /** The per-rule lead times of the last backtest that was told the real failures (JSON), or undefined. */
  async lastBacktest(): Promise<string | undefined> {
    return (await this.sql.get<{ data: string }>('SELECT data FROM backtest_last WHERE id = 1'))?.data;
  }

  async saveBacktest(json: string): Promise<void> {
    await this.sql.run('INSERT INTO backtest_last (id, data) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data', [json]);
  }

  async active(): Promise<(RulesetVersion & { yaml: string }) | undefined> {
    const row = await this.sql.get<VersionRow>('SELECT v.* FROM ruleset_version v JOIN ruleset_active a ON a.version = v.version');
    return row && { ...toVersion(row), yaml: row.yaml };
  }

  async get(version: number): Promise<(RulesetVersion & { yaml: string }) | undefined> {
    const row = await this.sql.get<VersionRow>('SELECT * FROM ruleset_version WHERE version = ?', [version]);
    return row && { ...toVersion(row), yaml: row.yaml };
  }

  async list(): Promise<RulesetVersion[]> {
    return (await this.sql.all<VersionRow>('SELECT * FROM ruleset_version ORDER BY version DESC')).map(toVersion);
  }

  /**
   * Stores a new version and makes it active, with its audit entry, in one transaction. The active
   * pointer is read under a lock, so two servers publishing at once each diff against the one before.
   */
  publish(v: { name: string; yaml: string; author: string; comment: string; at: number }): Promise<RulesetVersion> {
    return this.sql.tx(async () => {
      const before = await this.lockedActive();
      const diff = lineDiff(before?.yaml ?? '', v.yaml);
      const row = await this.sql.get<{ version: number }>('INSERT INTO ruleset_version (name, yaml, author, comment, created_at, diff) VALUES (?, ?, ?, ?, ?, ?) RETURNING version', [
        v.name,
        v.yaml,
        v.author,
        v.comment,
        v.at,
        diff,
      ]);
      const version = row!.version;
      await this.setActive(version);
      await this.auditLog.record(v.at, v.author, 'ruleset.publish', { version, previous: before?.version ?? null, name: v.name, comment: v.comment });
      return { version, name: v.name, author: v.author, comment: v.comment, createdAt: v.at, diff };
    });
  }

  /** Makes an earlier version active again (a rollback), audited. */
  activate(version: number, actor: string, comment: string, at: number): Promise<void> {
    return this.sql.tx(async () => {
      const before = await this.lockedActive();
      await this.setActive(version);
      await this.auditLog.record(at, actor, 'ruleset.activate', { version, previous: before?.version ?? null, comment });
    });
  }

  private async lockedActive(): Promise<(RulesetVersion & { yaml: string }) | undefined> {
    const a = await this.sql.get<{ version: number }>(`SELECT version FROM ruleset_active WHERE id = 1${forUpdate(this.sql)}`);
    return a ? this.get(a.version) : undefined;
  }

  private async setActive(version: number): Promise<void> {
    await this.sql.run('INSERT INTO ruleset_active (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version', [version]);
  }
}

interface VersionRow {
  version: number;
  name: string;
  yaml: string;
  author: string;
  comment: string;
  created_at: number;
  diff: string;
}
const toVersion = (r: VersionRow): RulesetVersion => ({ version: r.version, name: r.name, author: r.author, comment: r.comment, createdAt: r.created_at, diff: r.diff });

const FINDING_MIGRATIONS: Migration[] = [
  {
    id: 'findings/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS finding (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, rule_id TEXT NOT NULL,
        device_id TEXT NOT NULL, metric TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, fault TEXT NOT NULL,
        dedupe_key TEXT NOT NULL, site TEXT, evidence TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS finding_device ON finding (device_id, id);`,
    postgres: `CREATE TABLE IF NOT EXISTS finding (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, rule_id TEXT NOT NULL,
        device_id TEXT NOT NULL, metric TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, fault TEXT NOT NULL,
        dedupe_key TEXT NOT NULL, site TEXT, evidence TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS finding_device ON finding (device_id, id);
      CREATE INDEX IF NOT EXISTS finding_at ON finding (at);`,
  },
];

/** Findings as they were emitted, for `/api/v1/findings` and for tickets to catch up after a restart. */
export class FindingStore {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<FindingStore> {
    await migrateStore(sql, FINDING_MIGRATIONS);
    return new FindingStore(sql);
  }

  async add(f: Finding): Promise<number> {
    const row = await this.sql.get<{ id: number }>(
      'INSERT INTO finding (at, rule_id, device_id, metric, severity, event, fault, dedupe_key, site, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [f.at, f.ruleId, f.deviceId, f.metric, f.severity, f.event, f.fault, f.dedupeKey, f.site ?? null, JSON.stringify(f.evidence)],
    );
    return row!.id;
  }

  /** Findings after an id, oldest first (tickets catching up after a restart). */
  since(afterId: number, limit: number): Promise<(Finding & { id: number })[]> {
    return this.query('WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
  }

  list(q: { deviceId?: string; ruleId?: string; since?: number | undefined; after?: number | undefined; sites?: ReadonlySet<string> | undefined; limit: number }): Promise<(Finding & { id: number })[]> {
    const w = new Where()
      .within('site', q.sites)
      .add('device_id = ?', [q.deviceId ?? ''], !!q.deviceId)
      .add('rule_id = ?', [q.ruleId ?? ''], !!q.ruleId)
      .add('at >= ?', [q.since ?? 0], q.since !== undefined)
      .add('id > ?', [q.after ?? 0], q.after !== undefined);
    return this.query(`${w} ORDER BY id DESC LIMIT ?`, [...w.args, q.limit]);
  }

  /** Every finding with `from <= at < to`, oldest first, a page at a time (for exports of any size). */
  async *iterate(from: number, to: number): AsyncGenerator<Finding & { id: number }> {
    for (let after = 0; ; ) {
      const page = await this.query('WHERE at >= ? AND at < ? AND id > ? ORDER BY id LIMIT 1000', [from, to, after]);
      yield* page;
      if (page.length < 1000) return;
      after = page[page.length - 1]!.id;
    }
  }

  private async query(tail: string, args: (string | number)[]): Promise<(Finding & { id: number })[]> {
    return (await this.sql.all<FindingRow>(`SELECT * FROM finding ${tail}`, args)).map(toFinding);
  }
}

interface FindingRow {
  id: number;
  at: number;
  rule_id: string;
  device_id: string;
  metric: string;
  severity: string;
  event: string;
  fault: string;
  dedupe_key: string;
  site: string | null;
  evidence: string;
}

function toFinding(r: FindingRow): Finding & { id: number } {
  return {
    id: r.id,
    ruleId: r.rule_id,
    deviceId: r.device_id,
    metric: r.metric as Finding['metric'],
    severity: r.severity as Finding['severity'],
    event: r.event as Finding['event'],
    fault: r.fault as Finding['fault'],
    at: r.at,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    dedupeKey: r.dedupe_key,
    ...(r.site !== null ? { site: r.site } : {}),
  };
}

const STATE_MIGRATIONS: Migration[] = [
  {
    id: 'rule-state/001-initial',
    sqlite: 'CREATE TABLE IF NOT EXISTS rule_state (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID',
    postgres: 'CREATE TABLE IF NOT EXISTS rule_state (key TEXT PRIMARY KEY, state TEXT NOT NULL)',
  },
  {
    // The shard of the device's site, so a server that takes a shard over loads only its state.
    // Rows written before have none; they are sorted out by their site when a shard is loaded.
    id: 'rule-state/002-shard',
    sqlite: 'ALTER TABLE rule_state ADD COLUMN shard INTEGER; CREATE INDEX IF NOT EXISTS rule_state_shard ON rule_state (shard)',
    postgres: 'ALTER TABLE rule_state ADD COLUMN IF NOT EXISTS shard INTEGER; CREATE INDEX IF NOT EXISTS rule_state_shard ON rule_state (shard)',
  },
];


// Rows per INSERT: one statement per few hundred rows instead of one per row, well under either
// engine's limit on bound parameters.
const STATE_BATCH = 400;

/** Engine state snapshots: one row per (device, metric), replaced wholesale each snapshot. */
export class StateStore {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<StateStore> {
    await migrateStore(sql, STATE_MIGRATIONS);
    return new StateStore(sql);
  }

  /**
   * Writes the rows in one transaction. `guard` runs first inside it and throws when the writer may
   * no longer write: a server that lost a shard's lease must not overwrite what the
   * next owner saves.
   */
  save(rows: Iterable<StateRow>, guard?: () => Promise<void>): Promise<{ rows: number; bytes: number }> {
    return this.sql.tx(async () => {
      await guard?.();
      let n = 0;
      let bytes = 0;
      let batch: (string | number | null)[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const values = Array.from({ length: batch.length / 3 }, () => '(?, ?, ?)').join(', ');
        await this.sql.run(`INSERT INTO rule_state (key, state, shard) VALUES ${values} ON CONFLICT (key) DO UPDATE SET state = excluded.state, shard = excluded.shard`, batch);
        batch = [];
      };
      for (const [k, s, site] of rows) {
        batch.push(k, s, site ? shardOf(site) : null);
        n++;
        bytes += s.length;
        if (batch.length >= STATE_BATCH * 3) await flush();
      }
      await flush();
      return { rows: n, bytes };
    });
  }

  async load(): Promise<[string, string][]> {
    return (await this.sql.all<{ key: string; state: string }>('SELECT key, state FROM rule_state')).map((r) => [r.key, r.state]);
  }

  /** The state of one shard's devices (rows from before the shard column are sorted out by their site). */
  async loadShard(shard: number): Promise<[string, string][]> {
    const rows = await this.sql.all<{ key: string; state: string; shard: number | null }>('SELECT key, state, shard FROM rule_state WHERE shard = ? OR shard IS NULL', [shard]);
    return rows
      .filter((r) => {
        if (r.shard !== null) return true;
        const site = (decodeState(r.state) as { site?: string | null }).site;
        return typeof site === 'string' && shardOf(site) === shard;
      })
      .map((r) => [r.key, r.state]);
  }
}
