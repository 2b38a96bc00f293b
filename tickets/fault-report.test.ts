import { describe, expect, it } from 'vitest';
import { aTicket } from '../test/helpers/tickets.ts';
import { FaultReportWebhookPayloadSchema, ManualClock, SqliteSql, type Ticket, createRegistry, openDatabase, parseConfig, silentLogger } from '../core/index.ts';
import { bearingFinding } from '../test/helpers/findings.ts';
import { TicketManager, TicketsConfigSchema } from './manager.ts';
import { FaultCatalog } from './fault-codes.ts';
import { faultReport, faultReportCsv } from './fault-report.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);
const AF = (installedAt: number | null) => ({ model: 'AF-710', firmware: installedAt === null ? '2.1' : '2.0', installedAt });
const done = (code: string | null, minutes: number | null = null) => ({ faultCode: code, component: null, action: null, partsUsed: [], minutesOnSite: minutes });

// fan-1 went into service at T0; fan-2 has no installation date, and its first reading is at T0 + 10 d.
const TICKETS: Ticket[] = [
  aTicket({ id: 1, deviceId: 'fan-1', equipment: AF(T0), createdAt: T0 + 100 * DAY, resolvedAt: T0 + 100 * DAY + 4 * HOUR, status: 'resolved', outcome: 'confirmed', resolution: done('M2.4', 60) }),
  aTicket({ id: 2, deviceId: 'fan-1', equipment: AF(T0), createdAt: T0 + 250 * DAY, resolvedAt: T0 + 250 * DAY + 8 * HOUR, status: 'closed', outcome: 'confirmed', customerNoticed: true, resolution: done('M2.4', 90) }),
  aTicket({ id: 3, deviceId: 'fan-2', equipment: AF(null), fault: 'imbalance', source: 'reported', createdAt: T0 + 40 * DAY, resolvedAt: T0 + 40 * DAY + 2 * HOUR, status: 'resolved', outcome: 'confirmed', resolution: done('VIB') }),
  aTicket({ id: 4, deviceId: 'fan-2', equipment: AF(null), createdAt: T0 + 60 * DAY, resolvedAt: T0 + 60 * DAY + HOUR, status: 'resolved', outcome: 'false_alarm', resolution: done('AIR') }),
  aTicket({ id: 5, deviceId: 'fan-1', equipment: AF(T0), fault: 'overheating', createdAt: T0 + 300 * DAY }),
  aTicket({ id: 6, deviceId: 'pump-1', site: 'plant-b', equipment: { model: 'KP-40', firmware: null, installedAt: T0 }, fault: 'overheating', createdAt: T0 + 30 * DAY, resolvedAt: T0 + 30 * DAY + 6 * HOUR, status: 'resolved', outcome: 'confirmed', resolution: done('M2.7') }),
  aTicket({ id: 7, deviceId: 'x-1', site: 'plant-b', fault: 'unspecified', source: 'reported', createdAt: T0 + 5 * DAY }),
];
const input = { firstReading: async (d: string) => (d === 'fan-2' ? T0 + 10 * DAY : undefined), catalog: new FaultCatalog() };

describe('engineering fault report', () => {
  it('gives per model the counts, share confirmed, MTBF and MTTR as worked out by hand', async () => {
    const rows = await faultReport(TICKETS, { ...input, groupBy: 'model' });
    expect(rows.map((r) => r.group)).toEqual(['AF-710', 'KP-40', 'unknown']);
    expect(rows[0]).toEqual({
      group: 'AF-710',
      tickets: 5,
      devices: 2,
      faults: [{ fault: 'bearing_wear', count: 3 }, { fault: 'imbalance', count: 1 }, { fault: 'overheating', count: 1 }],
      faultCodes: [{ code: 'M2.4', title: 'Wear', count: 2 }, { code: 'AIR', title: 'Abnormal instrument reading', count: 1 }, { code: 'VIB', title: 'Vibration', count: 1 }],
      judged: 4,
      confirmed: 3,
      confirmedShare: 0.75,
      // fan-1: 100 d from installation, then 150 d; fan-2: 30 d from its first reading. (100 + 150 + 30) / 3 d.
      mtbfHours: Math.round(((280 / 3) * 24) * 1000) / 1000,
      // (4 + 8 + 2) / 3 h; the false alarm is no failure.
      mttrHours: 4.667,
      meanMinutesOnSite: 75,
      // Predicted with nobody reporting first: tickets 1, 4 and 5 of 5.
      predictedShare: 0.6,
    });
    expect(rows[1]).toMatchObject({ group: 'KP-40', tickets: 1, confirmedShare: 1, mtbfHours: 720, mttrHours: 6, predictedShare: 1 });
    expect(rows[2]).toMatchObject({ group: 'unknown', tickets: 1, judged: 0, confirmedShare: null, mtbfHours: null, mttrHours: null, predictedShare: 0 });
  });

  it('counts a window’s first interval from the fault before it, not from the installation', async () => {
    // fan-1 also failed 80 days in, before this report's tickets: its first interval is 20 d, not 100 d.
    const previousFault = async (d: string, before: number) => (d === 'fan-1' && before === T0 + 100 * DAY ? T0 + 80 * DAY : undefined);
    const [fans] = await faultReport(TICKETS, { ...input, previousFault, groupBy: 'model' });
    expect(fans!.mtbfHours).toBe(Math.round((((20 + 150 + 30) / 3) * 24) * 1000) / 1000);
  });

  it('groups by firmware and by site, and writes CSV a spreadsheet cannot run', async () => {
    const fw = await faultReport(TICKETS, { ...input, groupBy: 'firmware' });
    expect(fw.map((r) => [r.group, r.tickets])).toEqual([['AF-710 2.0', 3], ['AF-710 2.1', 2], ['KP-40 unknown', 1], ['unknown', 1]]);
    const site = await faultReport(TICKETS, { ...input, groupBy: 'site' });
    expect(site.map((r) => [r.group, r.tickets])).toEqual([['plant-a', 5], ['plant-b', 2]]);
    const evil = await faultReport([aTicket({ id: 9, equipment: { model: '=HYPERLINK("http://x")', firmware: null, installedAt: null }, createdAt: T0 })], { ...input, groupBy: 'model' });
    const text = faultReportCsv(evil);
    expect(text.split('\r\n')[0]).toBe('group,tickets,devices,judged,confirmed,confirmed_share,mtbf_hours,mttr_hours,mean_minutes_on_site,predicted_share,top_faults,top_fault_codes');
    expect(text.split('\r\n')[1]).toBe(`"'=HYPERLINK(""http://x"")",1,1,0,0,,,,,1,bearing_wear:1,`);
  });
});

describe('monthly report.faults event', () => {
  it('queues last month’s report once, to subscriptions that name it and not to `*`', async () => {
    const db = new SqliteSql(openDatabase(':memory:'));
    const clock = new ManualClock(Date.UTC(2026, 10, 10));
    const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql: db, clock, log: silentLogger(), registry: createRegistry(), equipment: () => ({ model: 'AF-710', firmware: null, installedAt: Date.UTC(2026, 0, 1) }) });
    const sub = (events: string[]) => m.outbox.createSubscription({ url: 'http://127.0.0.1:1/hook', events: events as never, secret: 'x'.repeat(32), description: '', createdAt: clock.now(), createdBy: 'test' });
    const all = await sub(['*']);
    const reports = await sub(['report.faults']);
    const t = (await m.handleFinding(bearingFinding('fan-2', { at: clock.now() })))!;
    clock.advance(3 * HOUR);
    expect(await m.act(t.id, { action: 'resolve', outcome: 'confirmed', note: 'done', resolution: { faultCode: 'm2.4' } }, { name: 'dana', role: 'service_desk' })).toMatchObject({ ok: true });
    // Still November: nothing to report yet (October had no tickets).
    expect(await m.sendFaultReport()).toBe(false);
    clock.advance(21 * DAY);
    expect(await m.sendFaultReport()).toBe(true);
    expect(await m.sendFaultReport()).toBe(false);
    const queued = (await m.outbox.queue.list({ limit: 100, offset: 0 })).items.filter((q) => q.type === 'report.faults');
    expect(queued.map((q) => q.target)).toEqual([`webhook:${reports.id}`]);
    const payload = FaultReportWebhookPayloadSchema.parse(JSON.parse(queued[0]!.payload));
    expect(payload.id).toBe('vigil-report-2');
    expect(payload.detail).toMatchObject({ period: '2026-11', groupBy: 'model', from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) });
    expect(payload.detail.rows).toEqual([expect.objectContaining({ group: 'AF-710', tickets: 1, confirmed: 1, mttrHours: 3, faultCodes: [{ code: 'M2.4', title: 'Wear', count: 1 }] })]);
    expect((await m.outbox.queue.list({ target: `webhook:${all.id}`, limit: 100, offset: 0 })).items.every((q) => q.type !== 'report.faults')).toBe(true);
    await db.close();
  });
});
