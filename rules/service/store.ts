import { AuditLog, type Db, type Finding, Where, migrate } from '../../core/index.ts';
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

/** Ruleset versions, the active pointer and the audit log, in the server's SQLite file. */
export class RulesetStore {
  private readonly auditLog: AuditLog;

  constructor(private readonly db: Db) {
    this.auditLog = new AuditLog(db);
    migrate(db, [{ id: 'rulesets/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS ruleset_version (
        version INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, yaml TEXT NOT NULL, author TEXT NOT NULL,
        comment TEXT NOT NULL, created_at INTEGER NOT NULL, diff TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ruleset_active (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS backtest_last (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);` }]);
  }

  /** The per-rule lead times of the last backtest that was told the real failures (JSON), or undefined. */
  lastBacktest(): string | undefined {
    return (this.db.prepare('SELECT data FROM backtest_last WHERE id = 1').get() as { data: string } | undefined)?.data;
  }

  saveBacktest(json: string): void {
    this.db.prepare('INSERT INTO backtest_last (id, data) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data').run(json);
  }

  active(): (RulesetVersion & { yaml: string }) | undefined {
    const row = this.db.prepare('SELECT v.* FROM ruleset_version v JOIN ruleset_active a ON a.version = v.version').get() as VersionRow | undefined;
    return row && { ...toVersion(row), yaml: row.yaml };
  }

  get(version: number): (RulesetVersion & { yaml: string }) | undefined {
    const row = this.db.prepare('SELECT * FROM ruleset_version WHERE version = ?').get(version) as VersionRow | undefined;
    return row && { ...toVersion(row), yaml: row.yaml };
  }

  list(): RulesetVersion[] {
    return (this.db.prepare('SELECT * FROM ruleset_version ORDER BY version DESC').all() as VersionRow[]).map(toVersion);
  }

  /** Stores a new version and makes it active, with its audit entry, in one transaction. */
  publish(v: { name: string; yaml: string; author: string; comment: string; at: number }): RulesetVersion {
    return this.db.transaction(() => {
      const before = this.active();
      const diff = lineDiff(before?.yaml ?? '', v.yaml);
      const info = this.db
        .prepare('INSERT INTO ruleset_version (name, yaml, author, comment, created_at, diff) VALUES (?, ?, ?, ?, ?, ?)')
        .run(v.name, v.yaml, v.author, v.comment, v.at, diff);
      const version = Number(info.lastInsertRowid);
      this.setActive(version);
      this.audit(v.at, v.author, 'ruleset.publish', { version, previous: before?.version ?? null, name: v.name, comment: v.comment });
      return { version, name: v.name, author: v.author, comment: v.comment, createdAt: v.at, diff };
    })();
  }

  /** Makes an earlier version active again (a rollback), audited. */
  activate(version: number, actor: string, comment: string, at: number): void {
    this.db.transaction(() => {
      const before = this.active();
      this.setActive(version);
      this.audit(at, actor, 'ruleset.activate', { version, previous: before?.version ?? null, comment });
    })();
  }

  private audit(at: number, actor: string, action: string, detail: Record<string, unknown>): void {
    this.auditLog.record(at, actor, action, detail);
  }

  private setActive(version: number): void {
    this.db.prepare('INSERT INTO ruleset_active (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version').run(version);
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

/** Findings as they were emitted, for `/api/v1/findings` and for tickets to catch up after a restart. */
export class FindingStore {
  private readonly insert;

  constructor(private readonly db: Db) {
    migrate(db, [{ id: 'findings/001-initial', sqlite: `CREATE TABLE IF NOT EXISTS finding (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, rule_id TEXT NOT NULL,
        device_id TEXT NOT NULL, metric TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, fault TEXT NOT NULL,
        dedupe_key TEXT NOT NULL, site TEXT, evidence TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS finding_device ON finding (device_id, id);` }]);
    this.insert = db.prepare(
      'INSERT INTO finding (at, rule_id, device_id, metric, severity, event, fault, dedupe_key, site, evidence) VALUES (@at, @ruleId, @deviceId, @metric, @severity, @event, @fault, @dedupeKey, @site, @evidence)',
    );
  }

  add(f: Finding): number {
    return Number(this.insert.run({ ...f, site: f.site ?? null, evidence: JSON.stringify(f.evidence) }).lastInsertRowid);
  }

  /** Findings after an id, oldest first (tickets catching up after a restart). */
  since(afterId: number, limit: number): (Finding & { id: number })[] {
    return this.query('WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
  }

  list(q: { deviceId?: string; ruleId?: string; since?: number | undefined; after?: number | undefined; sites?: ReadonlySet<string> | undefined; limit: number }): (Finding & { id: number })[] {
    const w = new Where()
      .within('site', q.sites)
      .add('device_id = ?', [q.deviceId ?? ''], !!q.deviceId)
      .add('rule_id = ?', [q.ruleId ?? ''], !!q.ruleId)
      .add('at >= ?', [q.since ?? 0], q.since !== undefined)
      .add('id > ?', [q.after ?? 0], q.after !== undefined);
    return this.query(`${w} ORDER BY id DESC LIMIT ?`, [...w.args, q.limit]);
  }

  /** Every finding with `from <= at < to`, oldest first, one row at a time (for exports of any size). */
  *iterate(from: number, to: number): Generator<Finding & { id: number }> {
    for (const r of this.db.prepare('SELECT * FROM finding WHERE at >= ? AND at < ? ORDER BY id').iterate(from, to) as Iterable<FindingRow>) yield toFinding(r);
  }

  private query(tail: string, args: (string | number)[]): (Finding & { id: number })[] {
    return (this.db.prepare(`SELECT * FROM finding ${tail}`).all(...args) as FindingRow[]).map(toFinding);
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

/** Engine state snapshots: one row per (device, metric), replaced wholesale each snapshot. */
export class StateStore {
  constructor(private readonly db: Db) {
    migrate(db, [{ id: 'rule-state/001-initial', sqlite: 'CREATE TABLE IF NOT EXISTS rule_state (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID' }]);
  }

  save(rows: Iterable<[string, string]>): { rows: number; bytes: number } {
    let n = 0;
    let bytes = 0;
    const put = this.db.prepare('INSERT INTO rule_state (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state');
    this.db.transaction(() => {
      for (const [k, s] of rows) {
        put.run(k, s);
        n++;
        bytes += s.length;
      }
    })();
    return { rows: n, bytes };
  }

  load(): [string, string][] {
    return (this.db.prepare('SELECT key, state FROM rule_state').all() as { key: string; state: string }[]).map((r) => [r.key, r.state]);
  }
}
