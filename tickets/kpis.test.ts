import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type Engine, testStore } from '../test/helpers/engines.ts';
import { KpiWebhookPayloadSchema, ManualClock, type Sql, type Ticket, createRegistry, dedupeKeyOf, parseConfig, silentLogger } from '../core/index.ts';
import type { Complaint } from './complaints/index.ts';
import { type KpiGroup, type KpiInterval, RESPONSE_LADDER, computeKpis } from './kpis.ts';
import { TicketManager, type TicketsConfig, TicketsConfigSchema } from './manager.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 5); // a Monday
const desk = { name: 'dana', role: 'service_desk' };
const SITES = ['plant-a', 'plant-b', 'plant-c'];

/** The seeded history is written ticket by ticket, so its clock jumps back to each ticket's start. */
class SetClock extends ManualClock {
  private at: number;
  constructor(start: number) {
    super(start);
    this.at = start;
  }
  override now(): number {
    return this.at;
  }
  set(t: number): void {
    this.at = t;
  }
}

/** A small PRNG so the seeded history is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

const opened: Sql[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function seeded(engine: Engine, n = 300) {
  const db = await testStore(engine);
  opened.push(db);
  const clock = new SetClock(T0);
  const siteOf = (id: string) => SITES[Number(id.split('-')[1]) % 3];
  const config = parseConfig(TicketsConfigSchema, { policy: { sites: { 'plant-a': { region: 'north' }, 'plant-b': { region: 'north' }, 'plant-c': { region: 'south' } } } }, {});
  const m = await TicketManager.open(config, { sql: db, clock, log: silentLogger(), registry: createRegistry(), devices: { siteOf, knownSite: (s) => SITES.includes(s) }, linkKey: randomBytes(32) });
  const r = rng(7);
  // Tickets open in time order, one every ~6 hours over ~11 weeks; each is worked at once, as the
  // fake clock allows: acknowledge, visits, resolve, answer, each a known step later.
  for (let i = 0; i < n; i++) {
    clock.set(T0 + i * 6 * HOUR);
    const dev = `pump-${i}`;
    const t =
      r() < 0.6
        ? (await m.handleFinding({ ruleId: 'wear', deviceId: dev, metric: 'vibration_rms', severity: r() < 0.2 ? 'critical' : 'warning', event: 'fire', fault: 'bearing_wear', at: clock.now(), evidence: {}, dedupeKey: dedupeKeyOf(dev, 'bearing_wear'), site: siteOf(dev) }))!
        : ok(await m.report({ channel: 'phone', contact: { name: 'c' }, deviceId: dev, fault: 'bearing_wear', symptom: 'noise', urgency: r() < 0.3 ? 'high' : 'normal' }, desk)).ticket;
    const id = t.id;
    if (t.source === 'predicted' && r() < 0.2) ok(await m.report({ channel: 'web', contact: { name: 'c' }, deviceId: dev, symptom: 'noise', urgency: 'normal' }, desk));
    if (r() < 0.1) continue; // never acknowledged
    const start = clock.now();
    clock.set(start + Math.floor(r() * 90) * MIN);
    ok(await m.act(id, { action: 'acknowledge' }, desk));
    const visits = r() < 0.15 ? 0 : r() < 0.8 ? 1 : 2;
    for (let v = 1; v <= visits; v++) {
      ok(await m.visit(id, undefined, { plannedAt: clock.now(), technician: 'tom' }, desk));
      ok(await m.visit(id, v, { arrivedAt: clock.now(), result: v === visits && r() < 0.9 ? 'fixed' : 'not_fixed' }, desk));
    }
    if (r() < 0.1) continue; // still being worked on
    clock.set(start + Math.floor(r() * 48) * HOUR);
    ok(await m.act(id, { action: 'resolve', outcome: 'confirmed', note: 'x' }, desk));
    const answer = r();
    if (answer < 0.7) ok(await m.act(id, { action: 'survey', score: 1 + Math.floor(r() * 5), nps: r() < 0.5 ? Math.floor(r() * 11) : undefined }, desk));
    else if (answer < 0.85) {
      clock.set(clock.now() + 8 * DAY);
      await m.closeUnanswered();
    }
  }
  // Complaints about the service: linked to tickets, from three customers, some about the same cause again.
  const tickets = await collect(m.store.iterate(0, Number.MAX_SAFE_INTEGER));
  for (let i = 0; i < 40; i++) {
    const t = tickets[Math.floor(r() * tickets.length)]!;
    clock.set(t.createdAt + Math.floor(r() * 3) * HOUR);
    const cause = (['speed', 'attitude', 'billing'] as const)[i % 3]!;
    ok(await m.complaints.register({ channel: 'email', contact: { name: `customer-${i % 4}`, email: `c${i % 4}@example.com` }, complaintType: cause === 'billing' ? 'price' : 'service', cause, description: 'slow', ticketIds: [t.id] }, desk));
  }
  clock.set(T0 + n * 6 * HOUR + 30 * DAY);
  return { m, db, clock, config };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const t of items) out.push(t);
  return out;
}

function ok<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

/** The same figures worked out from the tickets themselves, one by one, as the README defines them. */
function byHand(tickets: Ticket[], complaints: Complaint[], groupBy: KpiGroup, interval: KpiInterval, asOf: number, region: (site: string) => string) {
  const key = (t: Ticket) => (groupBy === 'site' ? t.site! : groupBy === 'source' ? t.source : groupBy === 'region' ? region(t.site!) : t.dispatchGroup);
  const period = (t: Ticket) => {
    const d = new Date(t.createdAt);
    if (interval === 'month') return d.toISOString().slice(0, 7);
    const monday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    return new Date(monday).toISOString().slice(0, 10);
  };
  const byId = new Map(tickets.map((t) => [t.id, t]));
  const complaintKey = (c: Complaint) => {
    const d = new Date(c.createdAt);
    const p = interval === 'month' ? d.toISOString().slice(0, 7) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7))).toISOString().slice(0, 10);
    const g = groupBy === 'site' ? c.site! : groupBy === 'region' ? region(c.site!) : byId.get(c.ticketIds[0]!)!.dispatchGroup;
    return `${g}|${p}`;
  };
  const groups = new Map<string, Ticket[]>();
  for (const t of tickets) {
    const k = `${key(t)}|${period(t)}`;
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const rows = [...groups].map(([k, ts]) => {
    const [group, p] = k.split('|') as [string, string];
    const acked = ts.filter((t) => t.acknowledgedAt !== null);
    const minutes = acked.map((t) => (t.acknowledgedAt! - t.createdAt) / MIN).sort((a, b) => a - b);
    const due = ts.filter((t) => t.acknowledgedAt !== null || t.respondBy <= asOf);
    const judged = ts.filter((t) => t.firstTimeFix !== null);
    const resDue = ts.filter((t) => t.resolvedAt !== null || t.resolveBy <= asOf);
    const resolved = ts.filter((t) => t.resolvedAt !== null);
    const answers = ts.filter((t) => t.survey !== null);
    const noAnswer = ts.filter((t) => t.closeReason === 'no_response');
    const nps = answers.filter((t) => t.survey!.nps !== null).map((t) => t.survey!.nps!);
    const frac = (a: number, b: number) => (b > 0 ? a / b : null);
    return {
      group,
      period: p,
      opened: ts.length,
      response: {
        responded: acked.length,
        meanMinutes: acked.length ? acked.reduce((s, t) => s + t.acknowledgedAt! - t.createdAt, 0) / acked.length / MIN : null,
        p90Minutes: minutes.length ? (RESPONSE_LADDER.find((m) => minutes[Math.ceil(0.9 * minutes.length) - 1]! <= m) ?? null) : null,
        withinSla: frac(acked.filter((t) => t.acknowledgedAt! <= t.respondBy).length, due.length),
      },
      firstTimeFix: { judged: judged.length, rate: frac(judged.filter((t) => t.firstTimeFix).length, judged.length) },
      resolution: { due: resDue.length, rate: frac(resolved.filter((t) => t.resolvedAt! <= t.resolveBy).length, resDue.length) },
      satisfaction: { answered: answers.length, rate: frac(answers.filter((t) => t.survey!.score >= 4).length, answers.length), answerRate: frac(answers.length, answers.length + noAnswer.length) },
      nps: { answered: nps.length, score: nps.length ? (100 * (nps.filter((n) => n >= 9).length - nps.filter((n) => n <= 6).length)) / nps.length : null },
      mttrHours: resolved.length ? resolved.reduce((s, t) => s + t.resolvedAt! - t.createdAt, 0) / resolved.length / HOUR : null,
      predictedShare: frac(ts.filter((t) => t.source === 'predicted' && !t.customerNoticed).length, ts.length),
      complaints: (() => {
        if (groupBy === 'source') return null;
        const mine = complaints.filter((c) => complaintKey(c) === k);
        return { count: mine.length, per100Tickets: (100 * mine.length) / ts.length, repeatRate: frac(mine.filter((c) => c.repeat).length, mine.length) };
      })(),
    };
  });
  return rows.sort((a, b) => (a.group === b.group ? a.period.localeCompare(b.period) : a.group < b.group ? -1 : 1));
}

describe.each(ENGINES)('KPIs over a seeded history of 300 tickets (%s)', (engine) => {
  let m: TicketManager;
  let db: Sql;
  let clock: SetClock;
  let config: TicketsConfig;
  let all: Ticket[];
  let complaints: Complaint[];
  const region = (s: string) => config.policy.sites[s]!.region;
  beforeAll(async () => {
    ({ m, db, clock, config } = await seeded(engine));
    all = await collect(m.store.iterate(0, Number.MAX_SAFE_INTEGER));
    complaints = (await m.complaints.store.list({ limit: 1000, offset: 0 })).complaints;
    // Seeding a year on PostgreSQL is a few thousand transactions: slow when the whole suite runs beside it.
  }, 60_000);

  it('the history has every kind of ticket the figures distinguish', async () => {
    expect(all).toHaveLength(300);
    expect(new Set(all.map((t) => t.source))).toEqual(new Set(['predicted', 'reported']));
    expect(all.some((t) => t.customerNoticed)).toBe(true);
    expect(new Set(all.map((t) => t.firstTimeFix))).toEqual(new Set([true, false, null]));
    expect(new Set(all.map((t) => t.closeReason))).toEqual(new Set(['answered', 'no_response', null]));
    expect(complaints).toHaveLength(40);
    expect(complaints.filter((c) => c.repeat).length).toBeGreaterThan(10);
  });

  for (const [groupBy, interval] of [['site', 'month'], ['source', 'week'], ['region', 'month'], ['site', 'week']] as const) {
    it(`by ${groupBy} and ${interval}: every figure as worked out ticket by ticket`, async () => {
      const got = await computeKpis(db, { from: T0, to: T0 + 365 * DAY, groupBy, interval, asOf: clock.now() }, config.policy.targets);
      const want = byHand(all, complaints, groupBy, interval, clock.now(), region);
      expect(got.map(({ belowTarget: _b, periodStart: _p, ...r }) => r)).toEqual(want.map((w) => expect.objectContaining(closeTo(w))));
      expect(got.length).toBe(want.length);
    });
  }

  it('a window takes only tickets opened inside it, and marks figures below their targets', async () => {
    const jan = await computeKpis(db, { from: T0, to: Date.UTC(2026, 1, 1), groupBy: 'site', interval: 'month', asOf: clock.now() }, config.policy.targets);
    expect(jan.map((r) => r.period)).toEqual(['2026-01', '2026-01', '2026-01']);
    expect(jan.reduce((s, r) => s + r.opened, 0)).toBe(all.filter((t) => t.createdAt < Date.UTC(2026, 1, 1)).length);
    for (const r of jan) {
      expect(r.belowTarget.includes('satisfaction')).toBe(r.satisfaction.rate! < 0.9);
      expect(r.belowTarget.includes('response')).toBe(r.response.meanMinutes! > 30);
    }
  });
});

describe.each(ENGINES)('KPIs on four tickets counted by hand (%s)', (engine) => {
  it('gives the figures a person would write down', async () => {
    const db = await testStore(engine);
    opened.push(db);
    const clock = new SetClock(T0);
    const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: db, clock, log: silentLogger(), registry: createRegistry(), devices: { siteOf: () => 'plant-a', knownSite: () => true } });
    const rep = async (d: string) => ok(await m.report({ channel: 'phone', contact: { name: 'c' }, deviceId: d, fault: 'imbalance', symptom: 's', urgency: 'normal' }, desk)).ticket.id;
    // P3 by default: respond within 1 day, resolve within 5 days.
    const [a, b, c] = [await rep('a'), await rep('b'), await rep('c')];
    await rep('d'); // never worked on
    clock.set(T0 + 10 * MIN); ok(await m.act(a, { action: 'acknowledge' }, desk));
    clock.set(T0 + 20 * MIN); ok(await m.act(b, { action: 'acknowledge' }, desk));
    clock.set(T0 + 2 * DAY); ok(await m.act(c, { action: 'acknowledge' }, desk)); // late
    for (const [id, result] of [[a, 'fixed'], [b, 'not_fixed'], [c, 'fixed']] as const) {
      ok(await m.visit(id, undefined, { plannedAt: clock.now(), technician: 't' }, desk));
      ok(await m.visit(id, 1, { result }, desk));
    }
    clock.set(T0 + 3 * DAY); ok(await m.act(a, { action: 'resolve', outcome: 'confirmed', note: 'x' }, desk));
    clock.set(T0 + 6 * DAY); ok(await m.act(b, { action: 'resolve', outcome: 'confirmed', note: 'x' }, desk)); // late
    ok(await m.act(a, { action: 'survey', score: 5, nps: 10 }, desk));
    ok(await m.act(b, { action: 'survey', score: 3, nps: 5 }, desk));
    clock.set(T0 + 20 * DAY);
    const [row] = await computeKpis(db, { from: T0, to: T0 + 30 * DAY, groupBy: 'site', interval: 'month', asOf: clock.now() }, { responseMinutes: 30, firstTimeFix: 0.85, resolution: 0.95, satisfaction: 0.9, minTickets: 5 });
    expect(row).toEqual({
      group: 'plant-a',
      period: '2026-01',
      periodStart: Date.UTC(2026, 0, 1),
      opened: 4,
      // a 10, b 20, c 2,880 minutes; d never, and its deadline has passed.
      response: { responded: 3, meanMinutes: (10 + 20 + 2880) / 3, p90Minutes: 2880, withinSla: 2 / 4 },
      // Judged at resolution: a's first visit fixed it, b's did not; c is not resolved yet, d had no visit.
      firstTimeFix: { judged: 2, rate: 1 / 2 },
      // a in time, b late, c and d past their deadline unresolved.
      resolution: { due: 4, rate: 1 / 4 },
      satisfaction: { answered: 2, rate: 1 / 2, answerRate: 1 },
      nps: { answered: 2, score: 0 },
      mttrHours: (3 * 24 + 6 * 24) / 2,
      predictedShare: 0,
      complaints: { count: 0, per100Tickets: 0, repeatRate: null },
      belowTarget: ['response', 'firstTimeFix', 'resolution', 'satisfaction'],
    });
  });
});

/** Means and shares compared to 9 digits (SQL and JS sum in different orders). */
function closeTo(w: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(w)) out[k] = typeof v === 'number' && !Number.isInteger(v) ? expect.closeTo(v, 9) : v && typeof v === 'object' ? closeTo(v as Record<string, unknown>) : v;
  return out;
}

describe.each(ENGINES)('kpi.below_target (%s)', (engine) => {
  it('is raised once per month and figure, only with enough tickets, and goes only to subscriptions that name it', async () => {
    const db = await testStore(engine);
    opened.push(db);
    const clock = new SetClock(Date.UTC(2026, 2, 2, 8));
    const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: db, clock, log: silentLogger(), registry: createRegistry(), devices: { siteOf: () => 'plant-a', knownSite: () => true } });
    const all = await m.outbox.createSubscription({ url: 'http://127.0.0.1:1/all', events: ['*'], secret: 's'.repeat(20), description: '', createdAt: 0, createdBy: 't' });
    const kpi = await m.outbox.createSubscription({ url: 'http://127.0.0.1:1/kpi', events: ['kpi.below_target'], secret: 's'.repeat(20), description: '', createdAt: 0, createdBy: 't' });
    const fixLate = async (i: number) => {
      const id = ok(await m.report({ channel: 'phone', contact: { name: 'c' }, deviceId: `pump-${i}`, fault: 'imbalance', symptom: 's', urgency: 'normal' }, desk)).ticket.id;
      ok(await m.visit(id, undefined, { plannedAt: clock.now(), technician: 't' }, desk));
      ok(await m.visit(id, 1, { result: 'not_fixed' }, desk));
      ok(await m.act(id, { action: 'resolve', outcome: 'confirmed', note: 'x' }, desk));
    };
    for (let i = 0; i < 4; i++) await fixLate(i);
    expect(await m.checkKpis()).toBe(0); // four tickets: too few to judge
    await fixLate(4);
    expect(await m.checkKpis()).toBe(2); // plant-a and its dispatch group
    expect(await m.checkKpis()).toBe(0); // once per period
    const deliveries = (await m.outbox.deliveries({ limit: 100, offset: 0 })).deliveries.filter((d) => d.type === 'kpi.below_target');
    expect(deliveries.map((d) => d.subscriptionId)).toEqual([kpi.id, kpi.id]);
    expect(deliveries.some((d) => d.subscriptionId === all.id)).toBe(false);
    const payload = JSON.parse((await db.get<{ payload: string }>("SELECT payload FROM delivery WHERE type = 'kpi.below_target' ORDER BY id LIMIT 1"))!.payload) as unknown;
    expect(KpiWebhookPayloadSchema.parse(payload)).toMatchObject({ id: 'vigil-kpi-1', detail: { groupBy: 'site', group: 'plant-a', period: '2026-03', kpi: 'firstTimeFix', value: 0, target: 0.85, tickets: 5 } });
    // Next month the figure starts again.
    clock.set(Date.UTC(2026, 3, 1, 8));
    for (let i = 10; i < 15; i++) await fixLate(i);
    expect(await m.checkKpis()).toBe(2);
  });
});
