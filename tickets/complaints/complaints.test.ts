import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, type Engine, testStore } from '../../test/helpers/engines.ts';
import { ManualClock, type Sql, createRegistry, parseConfig, silentLogger } from '../../core/index.ts';
import { TicketManager, TicketsConfigSchema } from '../manager.ts';
import { type ComplaintAction, type ComplaintInput, type ComplaintStatus, COMPLAINT_FLOW, ComplaintStatusSchema, complaintStep, gradeOf } from './index.ts';

const DAY = 86_400_000;
const desk = { name: 'dana', role: 'service_desk' };

async function setupOn(engine: Engine, ) {
  const db = await testStore(engine);
  opened.push(db);
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 8));
  const config = parseConfig(TicketsConfigSchema, { policy: { sites: { 'plant-a': { customer: 'Acme Foods', region: 'north' } } } }, {});
  const m = await TicketManager.open(config, { sql: db, clock, log: silentLogger(), registry: createRegistry(), devices: { siteOf: () => 'plant-a', knownSite: () => true } });
  return { m, clock };
}
const complaint = (o: Partial<ComplaintInput> = {}): ComplaintInput => ({ channel: 'phone', contact: { name: 'Kim Lee' }, site: 'plant-a', complaintType: 'service', cause: 'speed', description: 'the technician came two days late', ...o });

const opened: Sql[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe.each(ENGINES)('complaint flow (%s)', (engine) => {
  const setup = (...a: Parameters<typeof setupOn> extends [Engine, ...infer R] ? R : never) => setupOn(engine, ...a);

  // Rows are states, columns actions; '-' is refused.
  const TABLE: Record<ComplaintStatus, Record<ComplaintAction, ComplaintStatus | '-'>> = {
    registered: { assess: 'assessed', resolve: '-', 'follow-up': '-', archive: '-' },
    assessed: { assess: '-', resolve: 'resolved', 'follow-up': '-', archive: '-' },
    resolved: { assess: '-', resolve: '-', 'follow-up': 'followed_up', archive: '-' },
    followed_up: { assess: '-', resolve: '-', 'follow-up': '-', archive: 'archived' },
    archived: { assess: '-', resolve: '-', 'follow-up': '-', archive: '-' },
  };
  for (const from of ComplaintStatusSchema.options) {
    for (const action of Object.keys(COMPLAINT_FLOW) as ComplaintAction[]) {
      const want = TABLE[from][action];
      it(`${from} --${action}--> ${want === '-' ? 'refused' : want}`, async () => {
        const r = complaintStep(from, action);
        expect(r.ok ? r.status : '-').toBe(want);
      });
    }
  }

  it('registered → assessed → resolved → followed up → archived, the return visit mandatory before archiving', async () => {
    const { m, clock } = await setup();
    const c = await m.complaints.register(complaint(), desk);
    if (!c.ok) throw new Error(c.message);
    expect(c.complaint).toMatchObject({ status: 'registered', grade: 'important', customer: 'Acme Foods', repeat: false, respondBy: clock.now() + DAY, resolveBy: clock.now() + 7 * DAY });
    const id = c.complaint.id;
    const rootCause = { cause: 'dispatch had no technician for the north region that week', whys: ['the visit was late', 'nobody was free', 'two were on leave at once'], correctiveAction: 'leave planning per region' };
    expect(await m.complaints.act(id, { action: 'archive', rootCause }, desk)).toMatchObject({ ok: false, status: 409 });
    expect(await m.complaints.act(id, { action: 'assess', note: 'confirmed late', grade: 'high' }, desk)).toMatchObject({ ok: true, complaint: { status: 'assessed', grade: 'high', resolveBy: c.complaint.createdAt + 3 * DAY } });
    expect(await m.complaints.act(id, { action: 'resolve', resolution: 'apologised, visit credited' }, desk)).toMatchObject({ ok: true, complaint: { status: 'resolved' } });
    expect(await m.complaints.act(id, { action: 'archive', rootCause }, desk)).toMatchObject({ ok: false, status: 409, message: expect.stringMatching(/only when followed_up/) });
    expect(await m.complaints.act(id, { action: 'follow-up', reached: true, score: 4, note: 'happy with the credit' }, desk)).toMatchObject({ ok: true, complaint: { status: 'followed_up' } });
    expect(await m.complaints.act(id, { action: 'archive', rootCause }, desk)).toMatchObject({ ok: true, complaint: { status: 'archived', rootCause } });
    expect((await m.complaints.store.history(id)).map((e) => e.type)).toEqual(['complaint.registered', 'complaint.assessed', 'complaint.resolved', 'complaint.followed_up', 'complaint.archived']);
  });

  it('grades by the organisation scale: safety or public exposure is a crisis, severe quality high, service and process important, the rest routine', async () => {
    const base = { severe: false, safetyRisk: false, publicExposure: false };
    expect(gradeOf({ ...base, complaintType: 'product', cause: 'safety' })).toBe('crisis');
    expect(gradeOf({ ...base, complaintType: 'service', cause: 'attitude', publicExposure: true })).toBe('crisis');
    expect(gradeOf({ ...base, complaintType: 'product', cause: 'quality', severe: true })).toBe('high');
    expect(gradeOf({ ...base, complaintType: 'product', cause: 'quality' })).toBe('routine');
    expect(gradeOf({ ...base, complaintType: 'process', cause: 'process' })).toBe('important');
    expect(gradeOf({ ...base, complaintType: 'price', cause: 'billing' })).toBe('routine');
    const { m, clock } = await setup();
    const crisis = await m.complaints.register(complaint({ complaintType: 'product', cause: 'safety', description: 'guard missing after the visit' }), desk);
    expect(crisis).toMatchObject({ ok: true, complaint: { grade: 'crisis', respondBy: clock.now() + 15 * 60_000 } });
  });

  it('flags a repeat (same customer and cause within 90 days) and escalates it one grade; another cause or a later one is not', async () => {
    const { m, clock } = await setup();
    const first = await m.complaints.register(complaint(), desk);
    clock.advance(30 * DAY);
    const again = await m.complaints.register(complaint({ description: 'late again' }), desk);
    expect(again).toMatchObject({ ok: true, complaint: { repeat: true, repeatOf: first.ok ? first.complaint.id : -1, grade: 'high' } });
    expect(await m.complaints.register(complaint({ cause: 'attitude' }), desk)).toMatchObject({ ok: true, complaint: { repeat: false, grade: 'important' } });
    clock.advance(91 * DAY);
    expect(await m.complaints.register(complaint({ complaintType: 'price', cause: 'billing' }), desk)).toMatchObject({ ok: true, complaint: { repeat: false, grade: 'routine' } });
    clock.advance(10 * DAY);
    expect(await m.complaints.register(complaint({ complaintType: 'price', cause: 'billing' }), desk)).toMatchObject({ ok: true, complaint: { repeat: true, grade: 'important' } });
  });

  it('refuses a cause that does not belong to the type, and links only to tickets that exist', async () => {
    const { m } = await setup();
    expect(await m.complaints.register(complaint({ complaintType: 'price', cause: 'attitude' }), desk)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/price complaint is about price, billing/) });
    expect(await m.complaints.register(complaint({ ticketIds: [42] }), desk)).toMatchObject({ ok: false, status: 400, message: 'ticketIds: no ticket 42' });
    expect((await m.complaints.store.list({ limit: 10, offset: 0 })).total).toBe(0);
  });
});
