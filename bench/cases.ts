// The case library at fleet scale: ranking similar cases, searching, and what it costs each new ticket.
import { ManualClock, SqliteSql, createRegistry, dedupeKeyOf, openDatabase, parseConfig, silentLogger } from '../core/index.ts';
import { TicketManager, TicketsConfigSchema } from '../tickets/index.ts';
import { aTicket } from '../test/helpers/tickets.ts';

const FAULTS = ['bearing_wear', 'imbalance', 'misalignment', 'lubrication', 'overheating', 'vibration', 'sensor_fault'] as const;
const MODELS = Array.from({ length: 50 }, (_, i) => `M-${i}`);

async function library(cases: number) {
  const sql = new SqliteSql(openDatabase(':memory:'));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const m = await TicketManager.open(parseConfig(TicketsConfigSchema, {}, {}), { sql, clock, log: silentLogger(), registry: createRegistry(), equipment: (id) => ({ model: MODELS[Number(id.split('-')[1]) % 50]!, firmware: null, installedAt: null }) });
  await sql.tx(async () => {
    for (let i = 1; i <= cases; i++) {
      const at = clock.now() + i * 60_000;
      const t = aTicket({ id: i, deviceId: `dev-${i % 5000}`, fault: FAULTS[i % FAULTS.length]!, equipment: { model: MODELS[i % 50]!, firmware: null, installedAt: null }, createdAt: at, status: 'closed', outcome: i % 10 === 0 ? 'false_alarm' : 'confirmed', resolvedAt: at + 3_600_000, resolution: { faultCode: 'M2.4', component: 'bearing', action: `replaced part ${i}`, partsUsed: [{ name: `part ${i % 300}`, quantity: 1 }], minutesOnSite: 60 } });
      await m.cases.put(t, `note ${i}`);
    }
  });
  clock.advance(1e9);
  return { m, sql, clock };
}

async function perCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const s = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(((performance.now() - s) / n).toFixed(2));
}

async function newTicketsPerS(m: TicketManager, clock: ManualClock, n: number): Promise<number> {
  const s = performance.now();
  for (let i = 0; i < n; i++) await m.handleFinding({ ruleId: 'r', deviceId: `new-${i}`, metric: 'vibration_rms', severity: 'warning', event: 'fire', fault: 'bearing_wear', at: clock.now(), evidence: {}, dedupeKey: dedupeKeyOf(`new-${i}`, 'bearing_wear'), site: 'plant-a' });
  return Math.round(n / ((performance.now() - s) / 1000));
}

/** `cases` resolved tickets over 50 models and 7 faults (SQLite in memory): per-call times and new tickets/s with and without them. */
export async function benchCases(cases = 20_000) {
  const empty = await library(0);
  const newEmpty = await newTicketsPerS(empty.m, empty.clock, 1000);
  await empty.sql.close();
  const { m, sql, clock } = await library(cases);
  const similarMs = await perCall(200, (i) => m.cases.similar({ model: MODELS[i % 50], fault: FAULTS[i % 7], deviceId: `dev-${i}`, metrics: ['vibration_rms'] }, 5));
  const searchWordsMs = await perCall(100, () => m.cases.search('replaced part', 20));
  const searchCodeMs = await perCall(100, () => m.cases.search('m 2.4', 20));
  const newFull = await newTicketsPerS(m, clock, 1000);
  await sql.close();
  return { cases, similarMs, searchWordsMs, searchCodeMs, newTicketsPerS: newFull, newTicketsPerSEmpty: newEmpty };
}
