import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, type Engine, testStore } from '../test/helpers/engines.ts';
import { type Fault, type Finding, ManualClock, type Sql, SqliteSql, createRegistry, dedupeKeyOf, metricValue, openDatabase, parseConfig, silentLogger } from '../core/index.ts';
import { type FindingSource, TicketManager, TicketsConfigSchema } from './manager.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const admin = { name: 'alice', role: 'service_desk' };

function finding(deviceId: string, fault: Fault, o: Partial<Finding> = {}): Finding {
  return {
    ruleId: o.ruleId ?? `${fault}-rule`,
    deviceId,
    metric: o.metric ?? (fault === 'overheating' ? 'bearing_temp' : 'vibration_kurtosis'),
    severity: o.severity ?? 'warning',
    event: o.event ?? 'fire',
    fault,
    at: o.at ?? Date.UTC(2026, 0, 1),
    evidence: o.evidence ?? { kind: 'baseline', value: 9, baseline: 3, score: 7, warning: 6, critical: 15, measure: 'deviations' },
    dedupeKey: dedupeKeyOf(deviceId, fault),
    site: o.site ?? 'plant-a',
  };
}

const opened: Sql[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function setupOn(engine: Engine, config: Record<string, unknown> = {}, findings?: FindingSource) {
  const sql = await testStore(engine);
  opened.push(sql);
  const clock = new ManualClock(Date.UTC(2026, 0, 2));
  const registry = createRegistry();
  const m = await TicketManager.open(parseConfig(TicketsConfigSchema, config, {}), { sql, clock, log: silentLogger(), registry, findings });
  return { m, clock, sql, registry };
}

// On SQLite, where each statement's table can be watched as it runs.
describe('ticket writes', () => {
  it('writes the ticket row and the finding once per finding: a new ticket, an escalation, a refined symptom', async () => {
    const db = openDatabase(':memory:');
    // Every write statement's table, recorded as it runs (prepared statements are wrapped before the stores make theirs).
    const writes: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const st = prepare(sql);
      const table = /^\s*(?:INSERT(?: OR \w+)? INTO|UPDATE|DELETE FROM)\s+(\w+)/i.exec(sql)?.[1];
      if (table) {
        // A write that returns what it wrote (RETURNING) runs through get.
        const run = st.run.bind(st);
        const get = st.get.bind(st);
        st.run = ((...args: unknown[]) => (writes.push(table), run(...(args as [])))) as typeof st.run;
        st.get = ((...args: unknown[]) => (writes.push(table), get(...(args as [])))) as typeof st.get;
      }
      return st;
    }) as typeof db.prepare;
    const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: new SqliteSql(db), clock: new ManualClock(Date.UTC(2026, 0, 2)), log: silentLogger(), registry: createRegistry() });
    const writesOf = async (fn: () => Promise<unknown>) => {
      writes.length = 0;
      await fn();
      const n: Record<string, number> = {};
      for (const t of writes) n[t] = (n[t] ?? 0) + 1;
      return n;
    };
    expect(await writesOf(() => m.handleFinding(finding('fan-2', 'bearing_wear'), 1))).toMatchObject({ ticket: 1, ticket_kpi: 1, ticket_finding: 1, ticket_event: 1 });
    expect(await m.store.get(1)).toMatchObject({ id: 1, evidence: { limitsCrossed: [{ value: 7 }] } });
    expect(await writesOf(() => m.handleFinding(finding('fan-2', 'bearing_wear', { event: 'escalate', severity: 'critical' }), 2))).toMatchObject({ ticket: 1, ticket_kpi: 1, ticket_finding: 1, ticket_event: 1 });
    await m.handleFinding(finding('pump-1', 'vibration'), 3);
    // Refined into a diagnosis and re-fired by the same finding: two events, one write of the row.
    const refined = await writesOf(() => m.handleFinding(finding('pump-1', 'misalignment'), 4));
    expect(refined).toMatchObject({ ticket: 1, ticket_finding: 1, ticket_event: 2 });
    // Its KPI row is rewritten only when a KPI dimension changed (not here).
    expect(refined.ticket_kpi ?? 0).toBeLessThanOrEqual(1);
    expect(await m.store.byKey('pump-1:misalignment')).toMatchObject({ fault: 'misalignment', occurrences: 2 });
    // A ticket made on a new id after the first: the ids follow on.
    expect((await m.handleFinding(finding('fan-9', 'overheating'), 5))!.id).toBe(3);
  });
});

describe.each(ENGINES)('tickets from findings (%s)', (engine) => {
  const setup = (config?: Record<string, unknown>, findings?: FindingSource) => setupOn(engine, config, findings);

  it('opens one ticket with priority, deadlines, dispatch group, evidence and advice', async () => {
    const { m, clock } = await setup({ policy: { sites: { 'plant-a': { region: 'north' } } } });
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    expect(t).toMatchObject({
      id: 1,
      status: 'open',
      dedupeKey: 'fan-2:bearing_wear',
      priority: 'P3',
      severity: 'warning',
      dispatchGroup: 'north-fan',
      occurrences: 1,
      rules: ['bearing_wear-rule'],
      respondBy: clock.now() + 24 * HOUR,
      resolveBy: clock.now() + 5 * 24 * HOUR,
      title: 'Bearing wear on fan-2 at plant-a',
    });
    expect(t.suggestedAction).toMatch(/bearing/);
    expect(t.likelyParts).toContain('bearing grease');
    expect(t.evidence).toMatchObject({ baseline: { vibration_kurtosis: 3 }, limitsCrossed: [{ measure: 'deviations', value: 7, limit: 6 }], predictedLimitAt: null });
    expect((await m.store.history(t.id)).map((e) => [e.type, e.actor.name])).toEqual([['ticket.created', 'rule-engine']]);
  });

  it('updates the open ticket on re-fire and escalation: occurrences, severity, priority, tighter deadlines', async () => {
    const { m, clock } = await setup();
    const first = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    clock.advance(HOUR);
    await m.handleFinding(finding('fan-2', 'bearing_wear', { ruleId: 'crest', metric: 'vibration_crest' }));
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear', { event: 'escalate', severity: 'critical' })))!;
    expect(t.id).toBe(first.id);
    expect(t).toMatchObject({ occurrences: 3, severity: 'critical', priority: 'P2', rules: ['bearing_wear-rule', 'crest'] });
    expect(t.respondBy).toBe(clock.now() + 4 * HOUR);
    expect((await m.store.list({ limit: 10, offset: 0 })).total).toBe(1);
    expect((await m.store.history(t.id)).map((e) => e.type)).toEqual(['ticket.created', 'ticket.updated', 'ticket.updated']);
    expect((await m.store.history(t.id)).at(-1)!.detail).toMatchObject({ changed: ['severity', 'priority'] });
  });

  it('keeps the ticket when the condition clears, with a note, until the desk closes it', async () => {
    const { m } = await setup();
    await m.handleFinding(finding('fan-2', 'bearing_wear'));
    await m.handleFinding(finding('fan-2', 'bearing_wear', { ruleId: 'crest', metric: 'vibration_crest' }));
    let t = (await m.handleFinding(finding('fan-2', 'bearing_wear', { event: 'resolve' })))!;
    expect(t).toMatchObject({ status: 'open', conditionCleared: false });
    t = (await m.handleFinding(finding('fan-2', 'bearing_wear', { event: 'resolve', ruleId: 'crest', metric: 'vibration_crest' })))!;
    expect(t).toMatchObject({ status: 'open', conditionCleared: true });
    expect((await m.store.history(t.id)).at(-1)).toMatchObject({ type: 'ticket.finding_resolved', detail: { note: expect.stringMatching(/no rule on this ticket is firing now/) } });
    // A resolve with no ticket behind it is ignored.
    expect(await m.handleFinding(finding('pump-1', 'bearing_wear', { event: 'resolve' }))).toBeUndefined();
    expect((await m.store.list({ limit: 10, offset: 0 })).total).toBe(1);
  });

  it('files a symptom (vibration) under a diagnosis on the same device, and refines a symptom ticket into one', async () => {
    const { m } = await setup();
    const a = (await m.handleFinding(finding('fan-2', 'vibration', { metric: 'vibration_rms' })))!;
    expect(a.fault).toBe('vibration');
    const b = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    expect(b).toMatchObject({ id: a.id, fault: 'bearing_wear', dedupeKey: 'fan-2:bearing_wear', title: 'Bearing wear on fan-2 at plant-a', occurrences: 2 });
    const c = (await m.handleFinding(finding('fan-2', 'vibration', { metric: 'vibration_rms', ruleId: 'vib-trend' })))!;
    expect(c.id).toBe(a.id);
    // Other faults on the device are other problems.
    expect((await m.handleFinding(finding('fan-2', 'overheating')))!.id).not.toBe(a.id);
    expect((await m.handleFinding(finding('fan-3', 'vibration')))!.id).not.toBe(a.id);
    expect((await m.store.list({ limit: 10, offset: 0 })).total).toBe(3);
  });

  it('does not let a diagnosis that ends refine a symptom ticket', async () => {
    const { m } = await setup();
    const a = (await m.handleFinding(finding('fan-2', 'vibration', { metric: 'vibration_rms' })))!;
    expect(await m.handleFinding(finding('fan-2', 'bearing_wear', { event: 'resolve' }))).toBeUndefined();
    expect(await m.store.get(a.id)).toMatchObject({ fault: 'vibration', dedupeKey: 'fan-2:vibration', occurrences: 1 });
  });

  it('under a flood of 10,000 findings for 100 devices opens exactly 100 tickets', { timeout: 60_000 }, async () => {
    const { m } = await setup();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // All given at once, as the rule engine gives them: each device's in order, devices side by side.
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const device = `pump-${Math.floor(rnd() * 100)}`;
      const r = rnd();
      all.push(m.handleFinding(finding(device, 'bearing_wear', { event: r < 0.6 ? 'fire' : r < 0.8 ? 'escalate' : 'resolve', severity: r < 0.6 ? 'warning' : 'critical', ruleId: `rule-${i % 3}` })));
    }
    await Promise.all(all);
    // Devices whose first finding was a resolve have no ticket until a fire arrives; all do by the end.
    const { tickets, total } = await m.store.list({ limit: 500, offset: 0 });
    expect(total).toBe(100);
    expect(new Set(tickets.map((t) => t.dedupeKey)).size).toBe(100);
    expect(tickets.reduce((n, t) => n + t.occurrences, 0)).toBeGreaterThan(7000);
    // Repeats are history, not webhook news: nothing was queued without a subscription, and the
    // history holds every finding that touched a ticket.
    expect((await m.outbox.counts()).pending).toBe(0);
  });

  it('reopens a resolved ticket when the condition fires again, and opens a new one after close', async () => {
    const { m } = await setup();
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    expect((await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'replaced bearing' }, admin)).ok).toBe(true);
    const again = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    expect(again).toMatchObject({ id: t.id, status: 'reopened', outcome: null });
    await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'again' }, admin);
    await m.act(t.id, { action: 'close' }, admin);
    const fresh = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    expect(fresh.id).not.toBe(t.id);
    // The closed one cannot be reopened while the new one is open.
    expect(await m.act(t.id, { action: 'reopen', note: 'x' }, admin)).toMatchObject({ ok: false, status: 409 });
  });
});

describe.each(ENGINES)('ticket actions (%s)', (engine) => {
  const setup = (config?: Record<string, unknown>, findings?: FindingSource) => setupOn(engine, config, findings);

  it('walks the lifecycle with actor and time in the history; refuses what the state machine forbids', async () => {
    const { m, clock, registry } = await setup();
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!;
    clock.advance(MIN);
    expect(await m.act(t.id, { action: 'acknowledge', note: 'on it' }, admin)).toMatchObject({ ok: true, ticket: { status: 'acknowledged', acknowledgedAt: clock.now() } });
    expect(await m.act(t.id, { action: 'assign', assignee: 'tech-7' }, admin)).toMatchObject({ ok: true, ticket: { assignee: 'tech-7', status: 'acknowledged' } });
    expect(await m.act(t.id, { action: 'start' }, admin)).toMatchObject({ ok: true, ticket: { status: 'in_progress' } });
    expect(await m.act(t.id, { action: 'close' }, admin)).toMatchObject({ ok: false, status: 409, message: expect.stringMatching(/cannot close a ticket that is in_progress/) });
    expect((await m.act(t.id, { action: 'comment', note: 'parts ordered' }, { name: 'bob', role: 'operator' })).ok).toBe(true);
    expect(await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'bearing replaced' }, admin)).toMatchObject({ ok: true, ticket: { status: 'resolved', outcome: 'confirmed' } });
    expect(await m.act(t.id, { action: 'close' }, admin)).toMatchObject({ ok: true, ticket: { status: 'closed' } });
    expect(await m.act(999, { action: 'close' }, admin)).toMatchObject({ ok: false, status: 404 });
    // The gauge follows: no ticket is open any more, so open reads 0 rather than its last count.
    expect(await metricValue(registry, 'vigil_tickets', { status: 'open' })).toBe(0);
    expect(await metricValue(registry, 'vigil_tickets', { status: 'closed' })).toBe(1);
    const h = await m.store.history(t.id);
    expect(h.map((e) => [e.type, e.actor.name])).toEqual([
      ['ticket.created', 'rule-engine'],
      ['ticket.acknowledged', 'alice'],
      ['ticket.assigned', 'alice'],
      ['ticket.started', 'alice'],
      ['ticket.commented', 'bob'],
      ['ticket.resolved', 'alice'],
      ['ticket.closed', 'alice'],
    ]);
    expect(h[1]).toMatchObject({ at: clock.now(), detail: { from: 'open', to: 'acknowledged', note: 'on it' } });
  });

  it('detects SLA breaches on the clock, once per deadline, and escalates the priority', async () => {
    const { m, clock } = await setup();
    const events: string[] = [];
    m.onEvent((e) => events.push(e.type));
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear')))!; // P3: respond 1 day, resolve 5 days
    clock.advance(23 * HOUR);
    expect(await m.checkSla()).toBe(0);
    clock.advance(2 * HOUR);
    expect(await m.checkSla()).toBe(1);
    expect(await m.checkSla()).toBe(0);
    expect(await m.store.get(t.id)).toMatchObject({ slaBreached: ['response'], priority: 'P2' });
    await m.act(t.id, { action: 'acknowledge' }, admin);
    clock.advance(5 * 24 * HOUR);
    expect(await m.checkSla()).toBe(1);
    expect(await m.store.get(t.id)).toMatchObject({ slaBreached: ['response', 'resolution'], priority: 'P1' });
    expect((await m.store.list({ slaBreached: true, limit: 10, offset: 0 })).total).toBe(1);
    expect(events.filter((e) => e === 'ticket.sla_breached')).toHaveLength(2);
    expect((await m.store.history(t.id)).find((e) => e.type === 'ticket.sla_breached')).toMatchObject({ actor: { name: 'sla-clock' }, detail: { sla: 'response', escalation: { from: 'P3', to: 'P2' } } });
  });

  it('checks SLAs on its own once started', async () => {
    const { m, clock } = await setup({ slaCheckEvery: '1m' });
    await m.start();
    await m.handleFinding(finding('fan-2', 'overheating')); // P1: respond within the hour
    // Each round reads and writes the store before it sets the next one.
    await clock.advanceAsync(61 * MIN, () => m.settled());
    expect((await m.store.list({ slaBreached: true, limit: 10, offset: 0 })).total).toBe(1);
    await m.stop();
  });

  it('counts tickets per rule by outcome, with precision', async () => {
    const { m } = await setup();
    const ids: number[] = [];
    for (const d of ['a', 'b', 'c', 'd']) ids.push((await m.handleFinding(finding(`fan-${d}`, 'bearing_wear', { ruleId: 'kurtosis' })))!.id);
    await m.handleFinding(finding('fan-a', 'bearing_wear', { ruleId: 'crest' }));
    await m.act(ids[0]!, { action: 'resolve', outcome: 'confirmed', note: 'x' }, admin);
    await m.act(ids[1]!, { action: 'resolve', outcome: 'false_alarm', note: 'x' }, admin);
    await m.act(ids[2]!, { action: 'resolve', outcome: 'no_fault_found', note: 'x' }, admin);
    await m.act(ids[2]!, { action: 'close' }, admin);
    expect(await m.stats()).toEqual([
      { ruleId: 'crest', tickets: 1, open: 0, confirmed: 1, no_fault_found: 0, false_alarm: 0, precision: 1 },
      { ruleId: 'kurtosis', tickets: 4, open: 1, confirmed: 1, no_fault_found: 1, false_alarm: 1, precision: 0.333 },
    ]);
  });

  it('catches up on findings stored while it was stopped, once', async () => {
    const stored = [1, 2, 3].map((i) => ({ ...finding(`pump-${i}`, 'bearing_wear'), id: i }));
    const source: FindingSource = { since: (after, limit) => stored.filter((f) => f.id > after).slice(0, limit) };
    const { m } = await setup({}, source);
    await m.start();
    await m.stop();
    await m.start();
    await m.stop();
    expect((await m.store.list({ limit: 10, offset: 0 })).total).toBe(3);
    expect(await m.store.cursor()).toBe(3);
  });
});
