import { z } from 'zod';
import { type Fault, FaultSchema, type Migration, OutcomeSchema, PartUsedSchema, type Sql, type Ticket, Where, migrateStore } from '../core/index.ts';
import { type FaultCatalog, normaliseCode } from './fault-codes.ts';

/** A resolved ticket as the case library keeps it: what the machine showed, and what put it right. */
export const CaseSchema = z.strictObject({
  ticketId: z.number().int(),
  resolvedAt: z.number().int(),
  title: z.string(),
  site: z.string().nullable(),
  deviceId: z.string().nullable(),
  model: z.string().nullable(),
  firmware: z.string().nullable(),
  fault: FaultSchema,
  faultCode: z.string().nullable(),
  faultCodeTitle: z.string().nullable(),
  outcome: OutcomeSchema,
  component: z.string().nullable(),
  action: z.string().nullable(),
  partsUsed: z.array(PartUsedSchema),
  minutesOnSite: z.number().int().nullable(),
  note: z.string().nullable(),
  /** The metrics whose rules fired: the shape of the evidence. */
  metrics: z.array(z.string()),
  /** How far the worst metric had moved from its learned normal (highest recent value / baseline), where known. */
  rise: z.number().nullable(),
  /** False once the ticket was reopened after this resolution: the fix did not hold (cases filed before this field read as true). */
  held: z.boolean().optional(),
});
export type Case = z.infer<typeof CaseSchema>;

export const SimilarCaseSchema = z.strictObject({
  case: CaseSchema,
  score: z.number(),
  /** Why it ranks where it does, in words (`same model`, `same fault`, `confirmed fix`). */
  reasons: z.array(z.string()),
  /** The case ended as a false alarm: shown so nobody repeats it, ranked down. */
  falseAlarm: z.boolean(),
});
export type SimilarCase = z.infer<typeof SimilarCaseSchema>;

/** What a case is compared on: the ticket in question, or a fault code someone typed. */
export interface CaseProbe {
  ticketId?: number | undefined;
  deviceId?: string | null | undefined;
  model?: string | null | undefined;
  fault?: Fault | undefined;
  faultCode?: string | null | undefined;
  metrics?: readonly string[] | undefined;
  rise?: number | null | undefined;
}

/** How many of the newest cases each likeness (model, fault, code, device) offers for ranking. */
const PER_LIKENESS = 500;

/** Faults that are one family: a vibration symptom is often the bearing, imbalance or misalignment a case diagnosed. */
const FAMILY: Partial<Record<Fault, string>> = { vibration: 'vib', bearing_wear: 'vib', imbalance: 'vib', misalignment: 'vib', lubrication: 'heat', overheating: 'heat' };

// What each likeness is worth: the model first (a sibling's fix is the best guide), then the fault and
// its code, then how alike the evidence looks; a confirmed fix above one nobody could confirm.
const WEIGHT = { model: 4, fault: 3, family: 1, code: 3, metrics: 2, rise: 1, device: 0.5, confirmed: 1, noFault: -0.5, falseAlarm: -2, notHeld: -1.5 } as const;

/** Scores one past case against the probe; exported for the ranking tests. */
export function score(p: CaseProbe, c: Case): { score: number; reasons: string[] } {
  let s = 0;
  const reasons: string[] = [];
  const credit = (w: number, why?: string) => {
    s += w;
    if (why) reasons.push(why);
  };
  if (p.model && c.model === p.model) credit(WEIGHT.model, 'same model');
  if (p.fault && p.fault !== 'unspecified' && c.fault === p.fault) credit(WEIGHT.fault, 'same fault');
  else if (p.fault && FAMILY[p.fault] !== undefined && FAMILY[p.fault] === FAMILY[c.fault]) credit(WEIGHT.family, 'related fault');
  if (p.faultCode && c.faultCode === p.faultCode) credit(WEIGHT.code, 'same fault code');
  if (p.metrics && p.metrics.length > 0 && c.metrics.length > 0) {
    const mine = new Set(p.metrics);
    const shared = c.metrics.filter((m) => mine.has(m)).length;
    const j = shared / (mine.size + c.metrics.length - shared);
    if (j > 0) credit(WEIGHT.metrics * j, `same metrics moved (${shared} of ${mine.size})`);
  }
  if (p.rise && c.rise && p.rise > 0 && c.rise > 0) {
    const alike = Math.max(0, 1 - Math.abs(Math.log(p.rise / c.rise)));
    if (alike > 0) credit(WEIGHT.rise * alike, 'moved as far');
  }
  if (p.deviceId && c.deviceId === p.deviceId) credit(WEIGHT.device, 'same device');
  if (c.outcome === 'confirmed') credit(WEIGHT.confirmed, 'confirmed fix');
  else if (c.outcome === 'no_fault_found') credit(WEIGHT.noFault);
  else credit(WEIGHT.falseAlarm, 'false alarm');
  if (c.held === false) credit(WEIGHT.notHeld, 'fix did not hold');
  return { score: Math.round(s * 1000) / 1000, reasons };
}

/** The shape of a ticket's evidence: which metrics its rules fired on, and how far the worst had moved. */
export function shapeOf(t: Pick<Ticket, 'evidence'>): { metrics: string[]; rise: number | null } {
  const metrics = [...new Set(t.evidence.findings.filter((f) => f.event !== 'resolve').map((f) => f.metric))].sort();
  let rise: number | null = null;
  for (const r of t.evidence.recent) {
    const base = t.evidence.baseline[r.metric];
    if (base !== undefined && base > 0) rise = Math.max(rise ?? 0, r.max / base);
  }
  return { metrics, rise: rise === null ? null : Math.round(rise * 1000) / 1000 };
}

/** The words of a search, each reduced to letters and digits so no query syntax gets through. */
function words(q: string): string[] {
  return (q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 12);
}

/**
 * Every resolved ticket as a case: the structured resolution in columns, its text in the store's
 * full-text index (SQLite FTS5, or a PostgreSQL tsvector), so "what fixed this before" is one query.
 */
export class CaseLibrary {
  private constructor(
    private readonly sql: Sql,
    private readonly catalog: FaultCatalog,
  ) {}

  static async open(sql: Sql, catalog: FaultCatalog): Promise<CaseLibrary> {
    await migrateStore(sql, CASE_MIGRATIONS);
    return new CaseLibrary(sql, catalog);
  }

  /** Files a resolved ticket as a case (again, when it is resolved again); `note` is the resolution's note. */
  async put(t: Ticket, note: string | null): Promise<Case> {
    const r = t.resolution;
    const code = r?.faultCode ?? null;
    const c: Case = {
      ticketId: t.id,
      resolvedAt: t.resolvedAt ?? t.updatedAt,
      title: t.title,
      site: t.site,
      deviceId: t.deviceId,
      model: t.equipment?.model ?? null,
      firmware: t.equipment?.firmware ?? null,
      fault: t.fault,
      faultCode: code,
      faultCodeTitle: code ? (this.catalog.find(code)?.title ?? null) : null,
      outcome: t.outcome ?? 'confirmed',
      component: r?.component ?? null,
      action: r?.action ?? null,
      partsUsed: r?.partsUsed ?? [],
      minutesOnSite: r?.minutesOnSite ?? null,
      note,
      ...shapeOf(t),
      held: true,
    };
    const text = [c.title, c.fault.replaceAll('_', ' '), c.model, c.faultCode, c.faultCodeTitle, c.component, c.action, c.note, ...c.partsUsed.map((p) => p.name), ...t.reports.map((x) => x.symptom)].filter(Boolean).join('\n');
    const cols = [c.resolvedAt, c.site, c.deviceId, c.model, c.firmware, c.fault, c.faultCode, c.outcome, JSON.stringify(c)] as const;
    if (this.sql.dialect === 'sqlite') {
      await this.sql.run(
        `INSERT INTO ticket_case (ticket_id, resolved_at, site, device_id, model, firmware, fault, fault_code, outcome, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (ticket_id) DO UPDATE SET resolved_at = excluded.resolved_at, site = excluded.site, device_id = excluded.device_id, model = excluded.model,
          firmware = excluded.firmware, fault = excluded.fault, fault_code = excluded.fault_code, outcome = excluded.outcome, data = excluded.data`,
        [t.id, ...cols],
      );
      await this.sql.run('DELETE FROM ticket_case_text WHERE rowid = ?', [t.id]);
      await this.sql.run('INSERT INTO ticket_case_text (rowid, text) VALUES (?, ?)', [t.id, text]);
    } else {
      await this.sql.run(
        `INSERT INTO ticket_case (ticket_id, resolved_at, site, device_id, model, firmware, fault, fault_code, outcome, data, tsv) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, to_tsvector('simple', ?))
          ON CONFLICT (ticket_id) DO UPDATE SET resolved_at = excluded.resolved_at, site = excluded.site, device_id = excluded.device_id, model = excluded.model,
          firmware = excluded.firmware, fault = excluded.fault, fault_code = excluded.fault_code, outcome = excluded.outcome, data = excluded.data, tsv = excluded.tsv`,
        [t.id, ...cols, text],
      );
    }
    return c;
  }

  /** The ticket came back after this resolution: its case says the fix did not hold (until it is resolved again). */
  async notHeld(ticketId: number): Promise<void> {
    const c = await this.get(ticketId);
    if (!c || c.held === false) return;
    await this.sql.run('UPDATE ticket_case SET data = ? WHERE ticket_id = ?', [JSON.stringify({ ...c, held: false }), ticketId]);
  }

  async get(ticketId: number): Promise<Case | undefined> {
    const row = await this.sql.get<{ data: string }>('SELECT data FROM ticket_case WHERE ticket_id = ?', [ticketId]);
    return row && (JSON.parse(row.data) as Case);
  }

  /** The most useful past cases for a probe, best first; `sites` limits them to a token's scope. */
  async similar(p: CaseProbe, limit: number, sites?: ReadonlySet<string>): Promise<SimilarCase[]> {
    // One indexed query per likeness, each the newest few hundred: a model's older cases are not
    // crowded out by a common fault's many newer ones, and an old fleet's history is not read per ticket.
    const likeness: [string, string[]][] = [];
    if (p.model) likeness.push(['model = ?', [p.model]]);
    const family = p.fault && FAMILY[p.fault];
    const kin = family ? Object.entries(FAMILY).filter(([, f]) => f === family).map(([k]) => k) : p.fault ? [p.fault] : [];
    if (kin.length) likeness.push([`fault IN (${kin.map(() => '?').join(',')})`, kin]);
    if (p.faultCode) likeness.push(['fault_code = ?', [p.faultCode]]);
    if (p.deviceId) likeness.push(['device_id = ?', [p.deviceId]]);
    const found = new Map<number, Case>();
    for (const [clause, values] of likeness) {
      const w = new Where().add(clause, values).add('ticket_id != ?', [p.ticketId ?? 0]).within('site', sites);
      for (const r of await this.sql.all<{ ticket_id: number; data: string }>(`SELECT ticket_id, data FROM ticket_case ${w} ORDER BY resolved_at DESC LIMIT ${PER_LIKENESS}`, w.args)) {
        if (!found.has(Number(r.ticket_id))) found.set(Number(r.ticket_id), JSON.parse(r.data) as Case);
      }
    }
    return [...found.values()]
      .map((c) => ({ case: c, ...score(p, c), falseAlarm: c.outcome === 'false_alarm' }))
      .sort((a, b) => b.score - a.score || b.case.resolvedAt - a.case.resolvedAt)
      .slice(0, limit);
  }

  /**
   * The best confirmed fix of this fault to start a new ticket from: the newest few of the same model,
   * and of any model, ranked as {@link similar} ranks them. Two small indexed reads, since every new
   * ticket asks (a library of 20,000 cases read whole would cost each new ticket milliseconds).
   */
  async bestFix(p: CaseProbe & { fault: Fault }): Promise<SimilarCase | undefined> {
    const found = new Map<number, Case>();
    const reads: [string, (string | number)[]][] = [["fault = ? AND outcome = 'confirmed' AND ticket_id != ?", [p.fault, p.ticketId ?? 0]]];
    if (p.model) reads.unshift(["model = ? AND fault = ? AND outcome = 'confirmed' AND ticket_id != ?", [p.model, p.fault, p.ticketId ?? 0]]);
    for (const [clause, args] of reads) {
      for (const r of await this.sql.all<{ ticket_id: number; data: string }>(`SELECT ticket_id, data FROM ticket_case WHERE ${clause} ORDER BY resolved_at DESC LIMIT 20`, args)) {
        if (!found.has(Number(r.ticket_id))) found.set(Number(r.ticket_id), JSON.parse(r.data) as Case);
      }
    }
    return [...found.values()]
      .filter((c) => c.action)
      .map((c) => ({ case: c, ...score(p, c), falseAlarm: false }))
      .sort((a, b) => b.score - a.score || b.case.resolvedAt - a.case.resolvedAt)[0];
  }

  /**
   * Cases whose text has every word of `q` (as a word prefix), or whose fault code is what `q` names
   * in any case or spacing (`m 2.4`, `vib`); best matches first.
   */
  async search(q: string, limit: number, sites?: ReadonlySet<string>): Promise<Case[]> {
    // The whole query as one code (`m 2.4`), unless it is a plain word: that may mean the word too (below).
    const whole = /^\p{L}+$/u.test(q.trim()) ? undefined : this.catalog.find(q);
    const codes: string[] = whole ? [whole.code] : [];
    const text: string[] = [];
    // A plain word that is also a code (`air`, `vib`, `noise` is not) may mean either: the code, or the word.
    const either: { code: string; word: string }[] = [];
    if (!whole) {
      for (const raw of q.split(/\s+/).filter(Boolean)) {
        const known = this.catalog.find(raw);
        if (known && /^[\p{L}]+$/u.test(raw)) either.push({ code: known.code, word: raw.toLowerCase() });
        else if (known) codes.push(known.code);
        else text.push(...words(raw));
      }
    }
    const w = new Where().within('c.site', sites);
    for (const code of codes) w.add('c.fault_code = ?', [normaliseCode(code)]);
    for (const e of either) {
      if (this.sql.dialect === 'sqlite') w.add('(c.fault_code = ? OR c.ticket_id IN (SELECT rowid FROM ticket_case_text WHERE ticket_case_text MATCH ?))', [e.code, `"${e.word}"*`]);
      else w.add("(c.fault_code = ? OR c.tsv @@ to_tsquery('simple', ?))", [e.code, `${e.word}:*`]);
    }
    if (codes.length === 0 && text.length === 0 && either.length === 0) return [];
    let from = 'ticket_case c';
    // Confirmed fixes before the rest at equal text rank: what a technician wants to read first.
    let order = "CASE c.outcome WHEN 'confirmed' THEN 0 ELSE 1 END, c.resolved_at DESC";
    const orderArgs: string[] = [];
    if (text.length > 0) {
      if (this.sql.dialect === 'sqlite') {
        from = 'ticket_case c JOIN ticket_case_text x ON x.rowid = c.ticket_id';
        w.add('ticket_case_text MATCH ?', [text.map((t) => `"${t}"*`).join(' AND ')]);
        order = `bm25(ticket_case_text), ${order}`;
      } else {
        const tsq = text.map((t) => `${t}:*`).join(' & ');
        w.add("c.tsv @@ to_tsquery('simple', ?)", [tsq]);
        order = `ts_rank(c.tsv, to_tsquery('simple', ?)) DESC, ${order}`;
        orderArgs.push(tsq);
      }
    }
    const rows = await this.sql.all<{ data: string }>(`SELECT c.data FROM ${from} ${w} ORDER BY ${order} LIMIT ?`, [...w.args, ...orderArgs, limit]);
    return rows.map((r) => JSON.parse(r.data) as Case);
  }

  /** Files resolved tickets that are not cases yet (`unfiled`: resolved before the library existed, or copied into a new store). */
  async backfill(unfiled: AsyncIterable<Ticket>, notes: (id: number) => Promise<string | null>): Promise<number> {
    let n = 0;
    for await (const t of unfiled) {
      if (t.outcome === null) continue;
      await this.put(t, await notes(t.id));
      n++;
    }
    return n;
  }
}

const CASE_MIGRATIONS: Migration[] = [
  {
    id: 'cases/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS ticket_case (ticket_id INTEGER PRIMARY KEY, resolved_at INTEGER NOT NULL, site TEXT, device_id TEXT, model TEXT, firmware TEXT,
        fault TEXT NOT NULL, fault_code TEXT, outcome TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS ticket_case_model ON ticket_case (model, resolved_at);
      CREATE INDEX IF NOT EXISTS ticket_case_fix ON ticket_case (model, fault, outcome, resolved_at);
      CREATE INDEX IF NOT EXISTS ticket_case_fault_fix ON ticket_case (fault, outcome, resolved_at);
      CREATE INDEX IF NOT EXISTS ticket_case_fault ON ticket_case (fault, resolved_at);
      CREATE INDEX IF NOT EXISTS ticket_case_code ON ticket_case (fault_code, resolved_at);
      CREATE INDEX IF NOT EXISTS ticket_case_device ON ticket_case (device_id, resolved_at);
      CREATE VIRTUAL TABLE IF NOT EXISTS ticket_case_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');`,
    postgres: `CREATE TABLE ticket_case (ticket_id BIGINT PRIMARY KEY, resolved_at BIGINT NOT NULL, site TEXT, device_id TEXT, model TEXT, firmware TEXT,
        fault TEXT NOT NULL, fault_code TEXT, outcome TEXT NOT NULL, data TEXT NOT NULL, tsv tsvector NOT NULL);
      CREATE INDEX ticket_case_model ON ticket_case (model, resolved_at);
      CREATE INDEX ticket_case_fix ON ticket_case (model, fault, outcome, resolved_at);
      CREATE INDEX ticket_case_fault_fix ON ticket_case (fault, outcome, resolved_at);
      CREATE INDEX ticket_case_fault ON ticket_case (fault, resolved_at);
      CREATE INDEX ticket_case_code ON ticket_case (fault_code, resolved_at);
      CREATE INDEX ticket_case_device ON ticket_case (device_id, resolved_at);
      CREATE INDEX ticket_case_tsv ON ticket_case USING GIN (tsv);`,
  },
];
