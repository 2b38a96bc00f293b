import { z } from 'zod';
import type { Ticket } from '../core/index.ts';
import { csv } from './csv.ts';

export const ForecastGroupBySchema = z.enum(['region', 'group']);
export type ForecastGroupBy = z.infer<typeof ForecastGroupBySchema>;

export const ForecastLineSchema = z.strictObject({
  /** The region, or the dispatch group. */
  group: z.string(),
  part: z.string(),
  /** The expected quantity: the sum of what each ticket contributes. */
  quantity: z.number(),
  /** The quantity rounded up: what to have on the shelf. */
  stock: z.number().int(),
  tickets: z.array(
    z.strictObject({
      ticketId: z.number().int(),
      deviceId: z.string().nullable(),
      /** `visit`: listed on a visit planned in the window (certain); `likely`: a likely part of a predicted ticket (weighted). */
      source: z.enum(['visit', 'likely']),
      quantity: z.number(),
      /** The measured precision of the ticket's rules used as its weight (likely parts only). */
      precision: z.number().nullable(),
      /** The share of the ticket's predicted time to limit that falls in the window (likely parts only). */
      inWindow: z.number().nullable(),
    }),
  ),
});
export type ForecastLine = z.infer<typeof ForecastLineSchema>;

export interface ForecastInput {
  now: number;
  days: number;
  groupBy: ForecastGroupBy;
  /** Each rule's measured precision (confirmed / judged), where it has one. */
  precision: ReadonlyMap<string, number>;
  /** Used for rules not yet judged: an untried rule is a coin toss until the desk has said otherwise. */
  defaultPrecision: number;
  regionOf: (t: Ticket) => string;
}

const DAY = 86_400_000;
const OPEN = new Set(['new', 'open', 'acknowledged', 'in_progress', 'reopened']);
const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The parts the next `days` will likely need, per region or dispatch group: what visits planned in the
 * window list (certain), plus the likely parts of open predicted tickets, each weighted by how often its
 * rules were right and by how much of its predicted time to limit falls in the window.
 */
export function partsForecast(tickets: Iterable<Ticket>, input: ForecastInput): ForecastLine[] {
  const end = input.now + input.days * DAY;
  const lines = new Map<string, ForecastLine>();
  const add = (t: Ticket, part: string, entry: ForecastLine['tickets'][number]) => {
    const group = input.groupBy === 'region' ? input.regionOf(t) : t.dispatchGroup;
    const key = `${group}\u0000${part.toLowerCase()}`;
    let line = lines.get(key);
    if (!line) lines.set(key, (line = { group, part, quantity: 0, stock: 0, tickets: [] }));
    line.quantity += entry.quantity;
    line.tickets.push(entry);
  };
  for (const t of tickets) {
    if (!OPEN.has(t.status)) continue;
    const planned = t.visits.filter((v) => v.result === null && v.plannedAt >= input.now && v.plannedAt < end && v.partsUsed.length > 0);
    if (planned.length > 0) {
      // A visit that lists its parts says what this ticket needs; its likely parts are not counted again.
      for (const v of planned) for (const p of v.partsUsed) add(t, p.name, { ticketId: t.id, deviceId: t.deviceId, source: 'visit', quantity: p.quantity, precision: null, inWindow: null });
      continue;
    }
    if (t.source !== 'predicted') continue;
    const known = t.rules.map((r) => input.precision.get(r)).filter((p): p is number => p !== undefined);
    const precision = known.length ? Math.max(...known) : input.defaultPrecision;
    const limitAt = t.evidence.predictedLimitAt;
    // Due inside the window: all of it; later: the window's share of the time left.
    const inWindow = limitAt === null || limitAt <= end ? 1 : Math.min(1, (end - input.now) / Math.max(1, limitAt - input.now));
    const weight = precision * inWindow;
    if (weight <= 0) continue;
    for (const part of t.likelyParts) add(t, part, { ticketId: t.id, deviceId: t.deviceId, source: 'likely', quantity: round(weight), precision: round(precision), inWindow: round(inWindow) });
  }
  return [...lines.values()]
    .map((l) => ({ ...l, quantity: round(l.quantity), stock: Math.ceil(round(l.quantity)) }))
    .sort((a, b) => a.group.localeCompare(b.group) || b.quantity - a.quantity || a.part.localeCompare(b.part));
}

/** The forecast as CSV for the warehouse: one line per group and part, with the tickets behind it. */
export function partsForecastCsv(lines: readonly ForecastLine[]): string {
  return csv(
    ['group', 'part', 'quantity', 'stock', 'tickets'],
    lines.map((l) => [l.group, l.part, l.quantity, l.stock, l.tickets.map((t) => `#${t.ticketId}${t.source === 'visit' ? ' visit' : ''}:${t.quantity}`).join(' ')]),
  );
}
