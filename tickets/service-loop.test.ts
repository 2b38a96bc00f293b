import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, type Engine, testStore } from '../test/helpers/engines.ts';
import { type Fault, type Finding, ManualClock, type Sql, createRegistry, dedupeKeyOf, parseConfig, silentLogger } from '../core/index.ts';
import { computeKpis } from './kpis.ts';
import { type ReportInput, TicketManager, TicketsConfigSchema } from './manager.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const desk = { name: 'dana', role: 'service_desk' };
const DEVICES: Record<string, string> = { 'pump-1': 'plant-a', 'fan-2': 'plant-a', 'pump-9': 'plant-b' };

async function setupOn(engine: Engine, config: Record<string, unknown> = {}) {
  const db = await testStore(engine);
  opened.push(db);
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 8));
  const devices = { siteOf: (id: string) => DEVICES[id], knownSite: (s: string) => Object.values(DEVICES).includes(s) };
  const m = await TicketManager.open(parseConfig(TicketsConfigSchema, config, {}), { sql: db, clock, log: silentLogger(), registry: createRegistry(), devices, linkKey: randomBytes(32) });
  return { m, clock, db };
}

const report = (o: Partial<ReportInput> = {}): ReportInput => ({ channel: 'phone', contact: { name: 'Kim', phone: '+49 30 1234' }, symptom: 'loud grinding noise', urgency: 'normal', ...o });

function finding(deviceId: string, fault: Fault, at: number): Finding {
  return { ruleId: `${fault}-rule`, deviceId, metric: 'vibration_rms', severity: 'warning', event: 'fire', fault, at, evidence: {}, dedupeKey: dedupeKeyOf(deviceId, fault), site: DEVICES[deviceId] };
}

function ok<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

const opened: Sql[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe.each(ENGINES)('the service loop (%s)', (engine) => {
  const setup = (...a: Parameters<typeof setupOn> extends [Engine, ...infer R] ? R : never) => setupOn(engine, ...a);

  it('reported → reviewed → dispatched → visit (not fixed) → visit (fixed) → resolved → accepted → return visit → closed', async () => {
    const { m, clock } = await setup({ policy: { sites: { 'plant-a': { region: 'north', tier: 'premium' } }, service: { acceptance: { premium: true }, returnVisit: { required: { premium: true } } } } });
    const t0 = clock.now();
    // No site and no device: the report waits for review.
    const created = ok(await m.report(report({ site: 'somewhere' }), desk));
    const id = created.ticket.id;
    expect(created.ticket).toMatchObject({ status: 'new', source: 'reported', fault: 'unspecified', deviceId: null, customerNoticed: false, reports: [{ channel: 'phone', contact: { name: 'Kim' }, recordedBy: 'dana' }] });
    const table: [string, () => Promise<{ ok: boolean }>, string][] = [
      ['acknowledge before review', () => m.act(id, { action: 'acknowledge' }, desk), 'refused'],
      ['review', () => m.act(id, { action: 'review', site: 'plant-a', deviceId: 'pump-1', fault: 'bearing_wear', urgency: 'high' }, desk), 'open'],
      ['acknowledge', async () => (clock.advance(12 * MIN), await m.act(id, { action: 'acknowledge' }, desk)), 'acknowledged'],
      ['dispatch', () => m.act(id, { action: 'assign', assignee: 'north-team' }, desk), 'acknowledged'],
      ['plan visit 1', () => m.visit(id, undefined, { plannedAt: t0 + DAY, technician: 'Tom' }, desk), 'acknowledged'],
      ['visit 1 needs parts', () => m.visit(id, 1, { arrivedAt: t0 + DAY, leftAt: t0 + DAY + HOUR, workDone: 'diagnosed DE bearing', result: 'needs_parts' }, desk), 'acknowledged'],
      ['visit 1 again', () => m.visit(id, 1, { result: 'fixed' }, desk), 'refused'],
      ['plan visit 2', () => m.visit(id, undefined, { plannedAt: t0 + 3 * DAY, technician: 'Tom' }, desk), 'acknowledged'],
      ['visit 2 fixed', () => m.visit(id, 2, { arrivedAt: t0 + 3 * DAY, leftAt: t0 + 3 * DAY + 2 * HOUR, partsUsed: [{ name: 'bearing 6205', quantity: 1 }], result: 'fixed' }, desk), 'acknowledged'],
      ['survey before resolution', () => m.act(id, { action: 'survey', score: 5 }, desk), 'refused'],
      ['resolve', async () => (clock.advance(3 * DAY), await m.act(id, { action: 'resolve', outcome: 'confirmed', note: 'bearing replaced' }, desk)), 'resolved'],
      ['close by hand (premium needs acceptance)', () => m.act(id, { action: 'close' }, desk), 'refused'],
      ['survey before acceptance', () => m.act(id, { action: 'survey', score: 5 }, desk), 'refused'],
      ['accept', () => m.act(id, { action: 'accept', by: 'Kim' }, desk), 'accepted'],
      ['close by hand (premium needs the return visit)', () => m.act(id, { action: 'close' }, desk), 'refused'],
      ['return visit', () => m.act(id, { action: 'survey', score: 4, nps: 9, comment: 'quick' }, desk), 'closed'],
      ['second answer', () => m.act(id, { action: 'survey', score: 1 }, desk), 'refused'],
    ];
    for (const [name, run, want] of table) {
      const before = (await m.store.get(id))!;
      const r = await run();
      if (want === 'refused') {
        expect(r.ok, name).toBe(false);
        expect(await m.store.get(id), `${name} changed nothing`).toEqual(before);
      } else {
        expect(r.ok, name).toBe(true);
        expect((await m.store.get(id))!.status, name).toBe(want);
      }
    }
    const t = (await m.store.get(id))!;
    expect(t).toMatchObject({ site: 'plant-a', deviceId: 'pump-1', fault: 'bearing_wear', dedupeKey: 'pump-1:bearing_wear', priority: 'P1', dispatchGroup: 'north-pump', closeReason: 'answered', firstTimeFix: false });
    // premium shifts the critical (high urgency) P2 one step up; the response clock ran from the call.
    expect(t.respondBy).toBe(t0 + HOUR);
    expect(t.acknowledgedAt! - t.createdAt).toBe(12 * MIN);
    expect(t.acceptance).toMatchObject({ by: 'Kim', via: 'technician' });
    expect(t.survey).toMatchObject({ score: 4, nps: 9, comment: 'quick', via: 'api' });
    expect(t.visits.map((v) => v.result)).toEqual(['needs_parts', 'fixed']);
    const types = (await m.store.history(id)).map((e) => e.type);
    expect(types).toEqual(['ticket.created', 'ticket.reviewed', 'ticket.acknowledged', 'ticket.assigned', 'ticket.visit_planned', 'ticket.visit_updated', 'ticket.visit_planned', 'ticket.visit_updated', 'ticket.resolved', 'ticket.accepted', 'ticket.surveyed']);
    // The resolution carried the customer's acceptance link, the acceptance the survey link.
    const hist = await m.store.history(id);
    expect(hist.find((e) => e.type === 'ticket.resolved')!.detail.link).toMatchObject({ purpose: 'accept', url: expect.stringMatching(/^\/survey\/\d+\.accept\./) });
    expect(hist.find((e) => e.type === 'ticket.accepted')!.detail.link).toMatchObject({ purpose: 'survey' });
  });

  it('a report about a device with an open predicted ticket joins it, and the ticket records that the customer noticed', async () => {
    const { m, clock } = await setup();
    const predicted = (await m.handleFinding(finding('fan-2', 'bearing_wear', clock.now())))!;
    expect(predicted).toMatchObject({ source: 'predicted', customerNoticed: false });
    const r = ok(await m.report(report({ deviceId: 'fan-2', urgency: 'high' }), desk));
    expect(r.joined).toBe(true);
    expect(r.ticket).toMatchObject({ id: predicted.id, source: 'predicted', customerNoticed: true, reports: [{ symptom: 'loud grinding noise', urgency: 'high' }] });
    expect(r.event.type).toBe('ticket.reported');
    // The same device with another named problem opens its own reported ticket.
    const other = ok(await m.report(report({ deviceId: 'fan-2', fault: 'overheating' }), desk));
    expect(other.joined).toBe(false);
    expect(other.ticket).toMatchObject({ source: 'reported', status: 'open', fault: 'overheating', priority: 'P1' });
  });

  it('refuses a report with an unknown device, or a device at another site, and stores nothing', async () => {
    const { m } = await setup();
    expect(await m.report(report({ deviceId: 'pump-404' }), desk)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/pump-404 is not a device/) });
    expect(await m.report(report({ deviceId: 'pump-9', site: 'plant-a' }), desk)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/at site plant-b, not plant-a/) });
    expect((await m.store.list({ limit: 10, offset: 0 })).total).toBe(0);
    // Scoped to plant-b, a plant-a device is unknown: neither a report nor a review says where it is.
    const scope = new Set(['plant-b']);
    expect(await m.report(report({ deviceId: 'pump-1', site: 'plant-b' }), desk, scope)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/^deviceId: pump-1 is not a device this server knows/) });
    const waiting = ok(await m.report(report({ site: 'nowhere' }), desk)).ticket;
    expect(await m.act(waiting.id, { action: 'review', site: 'plant-b', deviceId: 'pump-1' }, desk, scope)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/pump-1 is not a device/) });
    expect(await m.store.get(waiting.id)).toMatchObject({ status: 'new', deviceId: null });
  });

  it('a reopen inside the first-fix window clears first-time fix; a new ticket for the same problem does too; after the window it holds', async () => {
    const { m, clock } = await setup({ policy: { service: { firstFix: { window: '30d' } } } });
    const fix = async (id: number) => {
      const n = ok(await m.visit(id, undefined, { plannedAt: clock.now(), technician: 'Tom' }, desk)).ticket.visits.length;
      ok(await m.visit(id, n, { arrivedAt: clock.now(), result: 'fixed' }, desk));
      return ok(await m.act(id, { action: 'resolve', outcome: 'confirmed', note: 'done' }, desk)).ticket;
    };
    const a = (await m.handleFinding(finding('pump-1', 'bearing_wear', clock.now())))!;
    expect(await fix(a.id)).toMatchObject({ firstTimeFix: true, firstFixUntil: clock.now() + 30 * DAY });
    clock.advance(10 * DAY);
    await m.handleFinding(finding('pump-1', 'bearing_wear', clock.now())); // the condition came back: reopened
    expect(await m.store.get(a.id)).toMatchObject({ status: 'reopened', firstTimeFix: false });
    expect(await fix(a.id)).toMatchObject({ firstTimeFix: false });

    const b = (await m.handleFinding(finding('fan-2', 'imbalance', clock.now())))!;
    await fix(b.id);
    ok(await m.act(b.id, { action: 'close' }, desk));
    clock.advance(5 * DAY);
    const again = (await m.handleFinding(finding('fan-2', 'imbalance', clock.now())))!;
    expect(again.id).not.toBe(b.id);
    expect(await m.store.get(b.id)).toMatchObject({ status: 'closed', firstTimeFix: false });

    const c = (await m.handleFinding(finding('pump-9', 'imbalance', clock.now())))!;
    await fix(c.id);
    ok(await m.act(c.id, { action: 'close' }, desk));
    clock.advance(31 * DAY);
    await m.handleFinding(finding('pump-9', 'imbalance', clock.now()));
    expect(await m.store.get(c.id)).toMatchObject({ firstTimeFix: true });
  });

  it('closes a resolved ticket as no_response when the return visit gets no answer in time (fake clock)', async () => {
    const { m, clock } = await setup({ policy: { service: { returnVisit: { closeAfter: '7d' } } } });
    const t = ok(await m.report(report({ deviceId: 'pump-1' }), desk)).ticket;
    ok(await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'done' }, desk));
    clock.advance(7 * DAY - MIN);
    await m.checkSla();
    expect((await m.store.get(t.id))!.status).toBe('resolved');
    clock.advance(2 * MIN);
    await m.checkSla();
    expect(await m.store.get(t.id)).toMatchObject({ status: 'closed', closeReason: 'no_response', survey: null });
    expect((await m.store.history(t.id)).at(-1)).toMatchObject({ type: 'ticket.closed', actor: { name: 'sla-clock' }, detail: { closeReason: 'no_response' } });

    // A comment on a resolved ticket is not an answer: the week still runs from the resolution (or acceptance).
    const u = ok(await m.report(report({ deviceId: 'fan-2' }), desk)).ticket;
    ok(await m.act(u.id, { action: 'resolve', outcome: 'confirmed', note: 'done' }, desk));
    clock.advance(3 * DAY);
    ok(await m.act(u.id, { action: 'accept', by: 'Kim' }, desk));
    clock.advance(6 * DAY);
    ok(await m.act(u.id, { action: 'comment', note: 'called, no answer' }, desk));
    clock.advance(DAY + MIN);
    await m.checkSla();
    expect(await m.store.get(u.id)).toMatchObject({ status: 'closed', closeReason: 'no_response' });
  });

  it('fills the KPI tables from the tickets of a database that had none (an upgrade)', async () => {
    const { m, db, clock } = await setup();
    const t = ok(await m.report(report({ deviceId: 'pump-1' }), desk)).ticket;
    ok(await m.act(t.id, { action: 'acknowledge' }, desk));
    // A database from before the KPI tables: neither they nor the migration that makes them.
    await db.exec("DROP TABLE ticket_kpi; DROP TABLE kpi_cell; DELETE FROM schema_migration WHERE id = 'ticket-kpis/001-initial';");
    const upgraded = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: db, clock, log: silentLogger(), registry: createRegistry() });
    const rows = await computeKpis(db, { from: clock.now() - DAY, to: clock.now() + DAY, groupBy: 'site', interval: 'month', asOf: clock.now() }, upgraded.policy.targets);
    expect(rows).toMatchObject([{ group: 'plant-a', opened: 1, response: { responded: 1 } }]);
  });

  it('reads a ticket stored before the service loop with the new fields at their defaults', async () => {
    const { m, db } = await setup();
    const t = (await m.handleFinding(finding('pump-1', 'bearing_wear', Date.UTC(2026, 0, 5))))!;
    const old = JSON.parse((await db.get<{ data: string }>('SELECT data FROM ticket WHERE id = ?', [t.id]))!.data) as Record<string, unknown>;
    for (const k of ['source', 'reports', 'customerNoticed', 'visits', 'acceptance', 'survey', 'closeReason', 'firstTimeFix', 'firstFixUntil', 'version']) delete old[k];
    await db.run('UPDATE ticket SET data = ? WHERE id = ?', [JSON.stringify(old), t.id]);
    expect(await m.store.get(t.id)).toMatchObject({ source: 'predicted', reports: [], visits: [], survey: null, firstTimeFix: null });
    expect(ok(await m.act(t.id, { action: 'acknowledge' }, desk)).ticket.status).toBe('acknowledged');
  });
});
