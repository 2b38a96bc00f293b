import { describe, expect, it } from 'vitest';
import { aTicket } from '../test/helpers/tickets.ts';
import type { Ticket } from '../core/index.ts';
import { partsForecast, partsForecastCsv } from './parts-forecast.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const REGION: Record<string, string> = { 'plant-a': 'north', 'plant-b': 'north', 'plant-c': 'south' };
const evidence = (limitAt: number | null) => ({ recent: [], baseline: {}, limitsCrossed: [], predictedLimitAt: limitAt, findings: [], transmitted: [] });
const visit = (n: number, plannedAt: number, parts: { name: string; quantity: number }[]) => ({ n, plannedAt, technician: 'tom', arrivedAt: null, leftAt: null, workDone: null, partsUsed: parts, result: null });

const TICKETS: Ticket[] = [
  // Due in 10 days by a rule right 90 % of the time.
  aTicket({ id: 1, site: 'plant-a', dispatchGroup: 'north-fan', rules: ['r-high'], likelyParts: ['bearing 6205', 'bearing grease'], evidence: evidence(NOW + 10 * DAY), createdAt: NOW - DAY }),
  // Due in 60 days (half of it inside the 30-day window) by a rule right 40 % of the time.
  aTicket({ id: 2, site: 'plant-b', dispatchGroup: 'north-fan', rules: ['r-low'], likelyParts: ['Bearing 6205'], evidence: evidence(NOW + 60 * DAY), createdAt: NOW - DAY }),
  // No time to limit, and a rule nobody has judged yet: the default precision, all in the window.
  aTicket({ id: 3, site: 'plant-c', deviceId: 'fan-7', dispatchGroup: 'south-fan', rules: ['r-new'], likelyParts: ['v-belt'], evidence: evidence(null), createdAt: NOW - DAY }),
  // A customer's report with a visit planned in 5 days that lists its parts.
  aTicket({ id: 4, site: 'plant-c', deviceId: 'pump-3', dispatchGroup: 'south-pump', source: 'reported', status: 'acknowledged', likelyParts: ['impeller'], visits: [visit(1, NOW + 5 * DAY, [{ name: 'bearing 6205', quantity: 2 }])], createdAt: NOW - DAY }),
  // Not counted: resolved already, and a visit planned after the window.
  aTicket({ id: 5, site: 'plant-a', status: 'resolved', rules: ['r-high'], likelyParts: ['bearing 6205'], createdAt: NOW - DAY }),
  aTicket({ id: 6, site: 'plant-a', source: 'reported', visits: [visit(1, NOW + 40 * DAY, [{ name: 'bearing 6205', quantity: 5 }])], createdAt: NOW - DAY }),
];
const precision = new Map([['r-high', 0.9], ['r-low', 0.4]]);
const base = { now: NOW, days: 30, precision, defaultPrecision: 0.5, regionOf: (t: Ticket) => REGION[t.site ?? ''] ?? 'default' };

describe('parts forecast', () => {
  it('sums planned visits and weighted likely parts per region, naming the tickets behind each quantity', () => {
    const lines = partsForecast(TICKETS, { ...base, groupBy: 'region' });
    expect(lines.map((l) => [l.group, l.part, l.quantity, l.stock])).toEqual([
      ['north', 'bearing 6205', 1.1, 2],
      ['north', 'bearing grease', 0.9, 1],
      ['south', 'bearing 6205', 2, 2],
      ['south', 'v-belt', 0.5, 1],
    ]);
    expect(lines[0]!.tickets).toEqual([
      { ticketId: 1, deviceId: 'fan-1', source: 'likely', quantity: 0.9, precision: 0.9, inWindow: 1 },
      { ticketId: 2, deviceId: 'fan-1', source: 'likely', quantity: 0.2, precision: 0.4, inWindow: 0.5 },
    ]);
    expect(lines[2]!.tickets).toEqual([{ ticketId: 4, deviceId: 'pump-3', source: 'visit', quantity: 2, precision: null, inWindow: null }]);
  });

  it('groups by dispatch group, widens with the window, and writes the warehouse CSV', () => {
    const byGroup = partsForecast(TICKETS, { ...base, groupBy: 'group' });
    expect(byGroup.map((l) => [l.group, l.part, l.quantity])).toEqual([
      ['north-fan', 'bearing 6205', 1.1],
      ['north-fan', 'bearing grease', 0.9],
      ['south-fan', 'v-belt', 0.5],
      ['south-pump', 'bearing 6205', 2],
    ]);
    // 60 days: ticket 2 falls wholly inside, and the visit in 40 days counts.
    const long = partsForecast(TICKETS, { ...base, days: 60, groupBy: 'region' });
    expect(long.find((l) => l.group === 'north' && l.part === 'bearing 6205')).toMatchObject({ quantity: 0.9 + 0.4 + 5, stock: 7 });
    expect(partsForecastCsv(partsForecast(TICKETS, { ...base, groupBy: 'region' })).split('\r\n').slice(0, 2)).toEqual(['group,part,quantity,stock,tickets', 'north,bearing 6205,1.1,2,#1:0.9 #2:0.2']);
  });
});
