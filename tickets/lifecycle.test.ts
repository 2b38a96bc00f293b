import { describe, expect, it } from 'vitest';
import { TicketStatusSchema, type TicketStatus } from '../core/index.ts';
import { type Action, TRANSITIONS, step } from './lifecycle.ts';

const STATUSES = TicketStatusSchema.options;
const ACTIONS = Object.keys(TRANSITIONS) as Action[];

// The whole machine as a table: rows are states, columns actions; '-' is refused.
const EXPECTED: Record<TicketStatus, Record<Action, TicketStatus | '-'>> = {
  open: { acknowledge: 'acknowledged', start: 'in_progress', assign: 'open', comment: 'open', resolve: 'resolved', close: '-', reopen: '-' },
  acknowledged: { acknowledge: '-', start: 'in_progress', assign: 'acknowledged', comment: 'acknowledged', resolve: 'resolved', close: '-', reopen: '-' },
  in_progress: { acknowledge: '-', start: '-', assign: 'in_progress', comment: 'in_progress', resolve: 'resolved', close: '-', reopen: '-' },
  resolved: { acknowledge: '-', start: '-', assign: '-', comment: 'resolved', resolve: '-', close: 'closed', reopen: 'reopened' },
  closed: { acknowledge: '-', start: '-', assign: '-', comment: 'closed', resolve: '-', close: '-', reopen: 'reopened' },
  reopened: { acknowledge: 'acknowledged', start: 'in_progress', assign: 'reopened', comment: 'reopened', resolve: 'resolved', close: '-', reopen: '-' },
};

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

  it('reaches closed only through resolved, and every state can reach closed', () => {
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
    expect(intoClosed).toEqual(['resolved']);
  });
});
