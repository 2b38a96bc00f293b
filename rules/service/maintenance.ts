import { z } from 'zod';
import { type AuditLog, type Migration, type Sql, forUpdate, migrateStore } from '../../core/index.ts';
import type { Hold } from '../engine/engine.ts';

const Targets = z.array(z.string().min(1).max(128)).min(1).max(500);

/** A maintenance window as the API takes it: what it covers, when, and why. */
export const MaintenanceInputSchema = z
  .strictObject({
    /** Device ids, or patterns with `*` (`pump-*`). */
    devices: Targets.optional(),
    sites: Targets.optional(),
    /** Asset classes of the active ruleset. */
    classes: Targets.optional(),
    /** Epoch ms or ISO 8601; default now. */
    start: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]).optional(),
    end: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]),
    reason: z.string().trim().min(1).max(500),
  })
  .refine((w) => w.devices || w.sites || w.classes, { message: 'name the devices, sites or asset classes the work covers' });
export type MaintenanceInput = z.infer<typeof MaintenanceInputSchema>;

export const MaintenanceWindowSchema = z.strictObject({
  id: z.number().int(),
  devices: z.array(z.string()).nullable(),
  sites: z.array(z.string()).nullable(),
  classes: z.array(z.string()).nullable(),
  start: z.number().int(),
  end: z.number().int(),
  reason: z.string(),
  createdBy: z.string(),
  createdAt: z.number().int(),
  /** Set when someone ended it before its time. */
  endedBy: z.string().nullable(),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindowSchema>;

/** The longest window accepted: planned work is days, not a way to switch a device's rules off for good. */
export const MAX_WINDOW = 31 * 86_400_000;

interface Row {
  id: number;
  devices: string | null;
  sites: string | null;
  classes: string | null;
  start: number;
  end: number;
  reason: string;
  created_by: string;
  created_at: number;
  ended_by: string | null;
}

const MAINTENANCE_MIGRATIONS: Migration[] = [
  {
    id: 'maintenance/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS maintenance_window (id INTEGER PRIMARY KEY AUTOINCREMENT, devices TEXT, sites TEXT, classes TEXT,
        start INTEGER NOT NULL, "end" INTEGER NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, ended_by TEXT);
      CREATE INDEX IF NOT EXISTS maintenance_window_end ON maintenance_window ("end");`,
    postgres: `CREATE TABLE IF NOT EXISTS maintenance_window (id BIGSERIAL PRIMARY KEY, devices TEXT, sites TEXT, classes TEXT,
        start BIGINT NOT NULL, "end" BIGINT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, ended_by TEXT);
      CREATE INDEX IF NOT EXISTS maintenance_window_end ON maintenance_window ("end");`,
  },
];

/** Maintenance windows in the server's store; every change is in the audit log. */
export class MaintenanceStore {
  private constructor(
    private readonly sql: Sql,
    private readonly audit: AuditLog,
  ) {}

  static async open(sql: Sql, audit: AuditLog): Promise<MaintenanceStore> {
    await migrateStore(sql, MAINTENANCE_MIGRATIONS);
    return new MaintenanceStore(sql, audit);
  }

  create(w: { devices?: string[] | undefined; sites?: string[] | undefined; classes?: string[] | undefined; start: number; end: number; reason: string }, actor: string, at: number): Promise<MaintenanceWindow> {
    return this.sql.tx(async () => {
      const json = (v: string[] | undefined) => (v ? JSON.stringify(v) : null);
      const row = await this.sql.get<Row>('INSERT INTO maintenance_window (devices, sites, classes, start, "end", reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *', [
        json(w.devices),
        json(w.sites),
        json(w.classes),
        w.start,
        w.end,
        w.reason,
        actor,
        at,
      ]);
      const created = toWindow(row!);
      await this.audit.record(at, actor, 'maintenance.create', { id: created.id, devices: created.devices, sites: created.sites, classes: created.classes, start: created.start, end: created.end, reason: created.reason });
      return created;
    });
  }

  async get(id: number): Promise<MaintenanceWindow | undefined> {
    const row = await this.sql.get<Row>(`SELECT * FROM maintenance_window WHERE id = ?${forUpdate(this.sql)}`, [id]);
    return row && toWindow(row);
  }

  /** `current`: in force or still to come at `now`; `past`: ended; `all`. Newest first. */
  async list(state: 'current' | 'past' | 'all', now: number, limit = 500): Promise<MaintenanceWindow[]> {
    const where = state === 'current' ? 'WHERE "end" > ?' : state === 'past' ? 'WHERE "end" <= ?' : '';
    const args = state === 'all' ? [limit] : [now, limit];
    return (await this.sql.all<Row>(`SELECT * FROM maintenance_window ${where} ORDER BY start DESC, id DESC LIMIT ?`, args)).map(toWindow);
  }

  /** Ends a window now (work finished early, or it was a mistake); a window not yet begun is cancelled. */
  end(id: number, actor: string, at: number): Promise<MaintenanceWindow | undefined> {
    return this.sql.tx(async () => {
      const w = await this.get(id);
      if (!w || w.end <= at) return w;
      const end = Math.max(w.start, at);
      await this.sql.run('UPDATE maintenance_window SET "end" = ?, ended_by = ? WHERE id = ?', [end, actor, id]);
      await this.audit.record(at, actor, 'maintenance.end', { id, plannedEnd: w.end, end });
      return { ...w, end, endedBy: actor };
    });
  }

  /** What the rule engine holds back now and later. */
  async holds(now: number): Promise<Hold[]> {
    return (await this.list('current', now, 10_000)).map((w) => ({ id: String(w.id), start: w.start, end: w.end, devices: w.devices ?? undefined, sites: w.sites ?? undefined, classes: w.classes ?? undefined }));
  }
}

function toWindow(r: Row): MaintenanceWindow {
  const arr = (v: string | null) => (v === null ? null : (JSON.parse(v) as string[]));
  return { id: r.id, devices: arr(r.devices), sites: arr(r.sites), classes: arr(r.classes), start: r.start, end: r.end, reason: r.reason, createdBy: r.created_by, createdAt: r.created_at, endedBy: r.ended_by };
}
