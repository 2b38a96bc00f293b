import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, type Engine, testStore } from '../test/helpers/engines.ts';
import { type Fault, type Finding, ManualClock, type Outcome, type Sql, createRegistry, dedupeKeyOf, parseConfig, silentLogger } from '../core/index.ts';
import { FaultCatalog, normaliseCode } from './fault-codes.ts';
import { TicketManager, TicketsConfigSchema } from './manager.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
const desk = { name: 'dana', role: 'service_desk' };

// Three models at two sites: fan-9 is an AF-710 at plant-b, a sibling of the fans at plant-a.
const FLEET: Record<string, { site: string; model: string }> = {
  'fan-1': { site: 'plant-a', model: 'AF-710' },
  'fan-2': { site: 'plant-a', model: 'AF-710' },
  'fan-9': { site: 'plant-b', model: 'AF-710' },
  'pump-1': { site: 'plant-a', model: 'KP-40' },
  'pump-2': { site: 'plant-b', model: 'KP-40' },
  'motor-1': { site: 'plant-a', model: 'EM-15' },
};

const METRIC: Partial<Record<Fault, Finding['metric']>> = { bearing_wear: 'vibration_kurtosis', imbalance: 'vibration_rms', misalignment: 'vibration_peak', overheating: 'bearing_temp', lubrication: 'bearing_temp', sensor_fault: 'vibration_rms' };

function finding(deviceId: string, fault: Fault, at: number): Finding {
  return { ruleId: `${fault}-rule`, deviceId, metric: METRIC[fault] ?? 'vibration_rms', severity: 'warning', event: 'fire', fault, at, evidence: {}, dedupeKey: dedupeKeyOf(deviceId, fault), site: FLEET[deviceId]!.site };
}

/** The seeded history: each past case with what put it right. */
const HISTORY: { key: string; device: string; fault: Fault; outcome: Outcome; code: string; component?: string; action: string; parts?: { name: string; quantity: number }[] }[] = [
  { key: 'A', device: 'fan-1', fault: 'bearing_wear', outcome: 'confirmed', code: 'M2.4', component: 'drive-end bearing', action: 'replaced the drive-end bearing 6205 and regreased', parts: [{ name: 'bearing 6205', quantity: 1 }, { name: 'bearing grease', quantity: 0.2 }] },
  { key: 'B', device: 'pump-1', fault: 'bearing_wear', outcome: 'confirmed', code: 'm2.4', component: 'pump bearing', action: 'replaced the pump bearing 6308', parts: [{ name: 'bearing 6308', quantity: 1 }] },
  { key: 'C', device: 'fan-2', fault: 'imbalance', outcome: 'confirmed', code: 'vib', component: 'impeller', action: 'cleaned the blades and rebalanced the impeller in place' },
  { key: 'D', device: 'fan-1', fault: 'bearing_wear', outcome: 'false_alarm', code: 'AIR', action: 'sensor mounting was loose; tightened it' },
  { key: 'E', device: 'pump-2', fault: 'overheating', outcome: 'confirmed', code: 'M 2.7', component: 'motor housing', action: 'cleaned the cooling fins and the air intake' },
  { key: 'F', device: 'motor-1', fault: 'misalignment', outcome: 'confirmed', code: 'M1.3', component: 'coupling', action: 'laser realignment of the coupling' },
  { key: 'G', device: 'pump-1', fault: 'lubrication', outcome: 'confirmed', code: 'M5.2', component: 'bearing', action: 'flushed and replaced contaminated grease' },
  { key: 'H', device: 'fan-9', fault: 'sensor_fault', outcome: 'confirmed', code: 'M3.3', component: 'accelerometer', action: 'replaced the accelerometer cable' },
  { key: 'I', device: 'motor-1', fault: 'bearing_wear', outcome: 'no_fault_found', code: 'UNK', action: 'nothing found on site' },
  { key: 'J', device: 'fan-2', fault: 'overheating', outcome: 'confirmed', code: 'OHE', component: 'cooling fan', action: 'replaced the cooling fan belt' },
];

const opened: Sql[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function seeded(engine: Engine) {
  const db = await testStore(engine);
  opened.push(db);
  const clock = new ManualClock(T0);
  const m = await TicketManager.open(parseConfig(TicketsConfigSchema, { faultCodes: [{ code: 'x-imp 1', title: 'Impeller crack' }] }, {}), {
    sql: db,
    clock,
    log: silentLogger(),
    registry: createRegistry(),
    devices: { siteOf: (id) => FLEET[id]?.site, knownSite: (s) => s === 'plant-a' || s === 'plant-b' },
    equipment: (id) => (FLEET[id] ? { model: FLEET[id].model, firmware: '1.0', installedAt: null } : null),
  });
  const ids: Record<string, number> = {};
  for (const h of HISTORY) {
    clock.advance(HOUR);
    const t = (await m.handleFinding(finding(h.device, h.fault, clock.now())))!;
    clock.advance(HOUR);
    const r = await m.act(t.id, { action: 'resolve', outcome: h.outcome, note: `case ${h.key}`, resolution: { faultCode: h.code, component: h.component, action: h.action, partsUsed: h.parts, minutesOnSite: 45 } }, desk);
    if (!r.ok) throw new Error(r.message);
    ids[h.key] = t.id;
    // Closed, so the next finding of the same device and fault opens a ticket of its own.
    const c = await m.act(t.id, { action: 'close' }, desk);
    if (!c.ok) throw new Error(c.message);
  }
  return { m, ids, clock };
}

describe('fault-code catalog', () => {
  it('ships ISO 14224 modes, mechanisms and causes, finds a code in any case or spacing, and takes the operator’s own', () => {
    const c = new FaultCatalog([{ code: 'XIMP1', kind: 'custom', title: 'Impeller crack' }]);
    expect(c.find('vib')).toMatchObject({ code: 'VIB', kind: 'failure_mode', title: 'Vibration' });
    expect(c.find(' m 2.4 ')).toMatchObject({ code: 'M2.4', kind: 'failure_mechanism', title: 'Wear' });
    expect(c.find('c 3.4')).toMatchObject({ code: 'C3.4', kind: 'failure_cause' });
    expect(c.find('x imp1')).toMatchObject({ title: 'Impeller crack' });
    expect(c.find('M9.9')).toBeUndefined();
    expect(normaliseCode('m 2.4')).toBe('M2.4');
    expect(() => new FaultCatalog([{ code: 'VIB', kind: 'custom', title: 'again' }])).toThrow(/already/);
    expect(() => parseConfig(TicketsConfigSchema, { faultCodes: [{ code: 'vib', title: 'mine' }] }, {})).toThrow(/shipped ISO 14224 code/);
    expect(() => parseConfig(TicketsConfigSchema, { faultCodes: [{ code: 'a$b', title: 'bad' }] }, {})).toThrow(/letters, digits and dots/);
  });
});

describe.each(ENGINES)('case library on a seeded history (%s)', (engine) => {
  it('ranks the known best case first for each query, marks false alarms, and searches text and codes', async () => {
    const { m, ids, clock } = await seeded(engine);
    const first = async (device: string, fault: Fault) => {
      clock.advance(HOUR);
      const t = (await m.handleFinding(finding(device, fault, clock.now())))!;
      const [best, ...rest] = await m.cases.similar({ ticketId: t.id, deviceId: device, model: FLEET[device]!.model, fault, metrics: [METRIC[fault]!] }, 10);
      return { t, best: best!, rest };
    };
    // A bearing on a fan of the same model at another site: the sibling's confirmed fix, not the pump's,
    // and the sibling's false alarm is there but marked and below it.
    const q1 = await first('fan-9', 'bearing_wear');
    expect(q1.best.case.ticketId).toBe(ids.A);
    expect(q1.best.reasons).toEqual(expect.arrayContaining(['same model', 'same fault', 'confirmed fix']));
    const falseAlarm = q1.rest.find((c) => c.case.ticketId === ids.D)!;
    expect(falseAlarm.falseAlarm).toBe(true);
    expect(falseAlarm.score).toBeLessThan(q1.best.score);
    // Each new ticket starts from the best case's fix, with its parts first; a case of another site is
    // told without that site's ticket and device.
    expect(q1.t.suggestedAction).toMatch(/^As on another AF-710 at another site \(M2.4 Wear\): replaced the drive-end bearing 6205 and regreased\. Schedule a bearing inspection/);
    expect(q1.t.suggestedAction).not.toMatch(/fan-1|#\d/);
    expect(q1.t.likelyParts.slice(0, 2)).toEqual(['bearing 6205', 'bearing grease']);
    const q2 = await first('pump-2', 'bearing_wear');
    expect(q2.best.case.ticketId).toBe(ids.B);
    expect((await first('fan-2', 'bearing_wear')).t.suggestedAction).toMatch(new RegExp(`^As on ticket #${ids.A} \\(fan-1, AF-710, M2.4 Wear\\): replaced the drive-end bearing 6205`));
    expect((await first('fan-9', 'imbalance')).best.case.ticketId).toBe(ids.C);
    expect((await first('pump-1', 'overheating')).best.case.ticketId).toBe(ids.E);
    expect((await first('fan-1', 'overheating')).best.case.ticketId).toBe(ids.J);
    expect((await first('motor-1', 'misalignment')).best.case.ticketId).toBe(ids.F);
    expect((await first('pump-2', 'lubrication')).best.case.ticketId).toBe(ids.G);
    // Typed fault codes, in another case or spacing, and words of the case text.
    const search = async (q: string) => (await m.cases.search(q, 10)).map((c) => c.ticketId);
    expect(await search('m 2.7')).toEqual([ids.E]);
    expect(await search('m1.3')).toEqual([ids.F]);
    expect(await search('Vib')).toEqual([ids.C]);
    expect(await search('accelerometer')).toEqual([ids.H]);
    expect(await search('rebalanc blades')).toEqual([ids.C]);
    expect(await search('bearing 6205')).toEqual([ids.A]);
    expect((await search('M-2.4')).sort()).toEqual([ids.A, ids.B].sort());
    expect(await search('m2.4 6308')).toEqual([ids.B]);
    // Query syntax is words, never operators: quotes, stars, OR and NEAR are only text (and must all match).
    expect(await search('"6205"* (')).toEqual([ids.A]);
    expect(await search('bearing OR NEAR(')).toEqual([]);
    expect(await search('zzzz')).toEqual([]);
    // A plain word that is also a code means either: `air` finds the AIR case and the one that mentions air.
    expect((await search('air')).sort()).toEqual([ids.D, ids.E].sort());
    expect(await search('air intake')).toEqual([ids.E]);
    // A case keeps the resolution as recorded, the code in the catalog's spelling and title.
    expect(await m.cases.get(ids.E!)).toMatchObject({ faultCode: 'M2.7', faultCodeTitle: 'Overheating', model: 'KP-40', component: 'motor housing', minutesOnSite: 45, note: 'case E', metrics: ['bearing_temp'] });
    // Scoped to plant-b: plant-a's cases are not offered.
    const scoped = await m.cases.similar({ model: 'AF-710', fault: 'bearing_wear' }, 10, new Set(['plant-b']));
    expect(scoped.every((c) => c.case.site === 'plant-b')).toBe(true);
    expect(await m.cases.search('bearing', 10, new Set(['plant-b']))).toEqual([]);
  });

  it('ranks down a fix that did not hold (its ticket reopened), until it is resolved again', async () => {
    const { m, ids } = await seeded(engine);
    const probe = { deviceId: 'fan-9', model: 'AF-710', fault: 'bearing_wear' as const, metrics: ['vibration_kurtosis'] };
    const scoreOfA = async () => (await m.cases.similar(probe, 10)).find((c) => c.case.ticketId === ids.A)!;
    const before = await scoreOfA();
    expect(before.case.held).toBe(true);
    expect(await m.act(ids.A!, { action: 'reopen', note: 'the bearing runs hot again' }, desk)).toMatchObject({ ok: true });
    const after = await scoreOfA();
    expect(after).toMatchObject({ case: { held: false }, reasons: expect.arrayContaining(['fix did not hold']) });
    expect(after.score).toBeCloseTo(before.score - 1.5, 3);
    expect(await m.act(ids.A!, { action: 'resolve', outcome: 'confirmed', note: 'replaced again', resolution: { faultCode: 'M2.4', action: 'replaced the bearing and the seal' } }, desk)).toMatchObject({ ok: true });
    expect((await scoreOfA()).case).toMatchObject({ held: true, action: 'replaced the bearing and the seal' });
  });

  it('refuses an unknown fault code with a 400 and changes nothing; the code is stored in the catalog’s spelling', async () => {
    const { m, clock } = await seeded(engine);
    clock.advance(HOUR);
    const t = (await m.handleFinding(finding('fan-2', 'bearing_wear', clock.now())))!;
    const bad = await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'x', resolution: { faultCode: 'M9.9' } }, desk);
    expect(bad).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/faultCode: "M9.9" is not in the fault-code catalog/) });
    expect(await m.store.get(t.id)).toMatchObject({ status: 'open', resolution: null, version: t.version });
    expect(await m.cases.get(t.id)).toBeUndefined();
    const good = await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'x', resolution: { faultCode: 'x-imp 1' } }, desk);
    expect(good).toMatchObject({ ok: true, ticket: { resolution: { faultCode: 'XIMP1', component: null, action: null, partsUsed: [], minutesOnSite: null } } });
    // Resolved without the structured fields, as before: still a case, its resolution empty.
    clock.advance(HOUR);
    const plain = (await m.handleFinding(finding('motor-1', 'imbalance', clock.now())))!;
    expect(await m.act(plain.id, { action: 'resolve', outcome: 'confirmed', note: 'done' }, desk)).toMatchObject({ ok: true, ticket: { resolution: null } });
    expect(await m.cases.get(plain.id)).toMatchObject({ faultCode: null, action: null, note: 'done' });
  });
});
