import { describe, expect, it } from 'vitest';
import { TicketStatusSchema, type TicketStatus } from '../core/index.ts';
import { type Action, TRANSITIONS, step } from './lifecycle.ts';

const STATUSES = TicketStatusSchema.options;
const ACTIONS = Object.keys(TRANSITIONS) as Action[];

// The whole machine as a table: rows are states, columns actions; '-' is refused.
const EXPECTED: Record<TicketStatus, Record<Action, TicketStatus | '-'>> = {
  //           review   acknowledge      start          assign         comment        visit          resolve     accept      survey    close     reopen
  new: row('open', '-', '-', '-', 'new', '-', '-', '-', '-', 'closed', '-'),
  open: row('-', 'acknowledged', 'in_progress', 'open', 'open', 'open', 'resolved', '-', '-', '-', '-'),
  acknowledged: row('-', '-', 'in_progress', 'acknowledged', 'acknowledged', 'acknowledged', 'resolved', '-', '-', '-', '-'),
  in_progress: row('-', '-', '-', 'in_progress', 'in_progress', 'in_progress', 'resolved', '-', '-', '-', '-'),
  resolved: row('-', '-', '-', '-', 'resolved', '-', '-', 'accepted', 'closed', 'closed', 'reopened'),
  accepted: row('-', '-', '-', '-', 'accepted', '-', '-', '-', 'closed', 'closed', 'reopened'),
  closed: row('-', '-', '-', '-', 'closed', '-', '-', '-', '-', '-', 'reopened'),
  reopened: row('-', 'acknowledged', 'in_progress', 'reopened', 'reopened', 'reopened', 'resolved', '-', '-', '-', '-'),
};
function row(...to: (TicketStatus | '-')[]): Record<Action, TicketStatus | '-'> {
  const order: Action[] = ['review', 'acknowledge', 'start', 'assign', 'comment', 'visit', 'resolve', 'accept', 'survey', 'close', 'reopen'];
  return Object.fromEntries(order.map((a, i) => [a, to[i]!])) as Record<Action, TicketStatus | '-'>;
}

describe('ticket lifecycle state machine', () => {
  for (const from of STATUSES) {
    for (const action of ACTIONS) {
      const want = EXPECTED[from][action];
      it(`${from} --${action}--> ${want === '-' ? 'refused' : want}`, () => {
        const r = step(from, action);
        if (want === '-') {
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.message).toMatch(new RegExp(`cannot ${action} a ticket that is ${from}`));
        } else expect(r).toEqual({ ok: true, status: want });
      });
    }
  }

  it('reaches closed only after resolution (or from an unreviewed report), and every state can reach closed', () => {
    const reach = (s: TicketStatus, seen = new Set<TicketStatus>()): Set<TicketStatus> => {
      seen.add(s);
      for (const a of ACTIONS) {
        const r = step(s, a);
        if (r.ok && !seen.has(r.status)) reach(r.status, seen);
      }
      return seen;
    };
    for (const s of STATUSES) expect(reach(s).has('closed')).toBe(true);
    const intoClosed = STATUSES.filter((s) => s !== 'closed' && ACTIONS.some((a) => { const r = step(s, a); return r.ok && r.status === 'closed'; }));
    expect(intoClosed).toEqual(['new', 'resolved', 'accepted']);
  });
});
