import type { TicketEventType, TicketStatus } from '../core/index.ts';

export type Action = 'review' | 'acknowledge' | 'start' | 'assign' | 'comment' | 'visit' | 'resolve' | 'accept' | 'survey' | 'close' | 'reopen';

const WORKING = ['open', 'reopened', 'acknowledged', 'in_progress'] as const satisfies readonly TicketStatus[];

/**
 * The ticket state machine: for each action, the states it may start from and the state it leads to
 * (`null`: the status stays). `new` (a customer report awaiting review) `→ open → acknowledged →
 * in_progress → resolved → accepted → closed`, with `reopened` from resolved, accepted or closed, which
 * behaves like open. Whether acceptance and the return visit are required is policy (per customer
 * tier), checked by the manager on top of this table.
 */
export const TRANSITIONS: Readonly<Record<Action, { from: readonly TicketStatus[]; to: TicketStatus | null; event: TicketEventType }>> = {
  review: { from: ['new'], to: 'open', event: 'ticket.reviewed' },
  acknowledge: { from: ['open', 'reopened'], to: 'acknowledged', event: 'ticket.acknowledged' },
  start: { from: ['open', 'reopened', 'acknowledged'], to: 'in_progress', event: 'ticket.started' },
  assign: { from: WORKING, to: null, event: 'ticket.assigned' },
  comment: { from: ['new', ...WORKING, 'resolved', 'accepted', 'closed'], to: null, event: 'ticket.commented' },
  visit: { from: WORKING, to: null, event: 'ticket.visit_planned' },
  resolve: { from: WORKING, to: 'resolved', event: 'ticket.resolved' },
  accept: { from: ['resolved'], to: 'accepted', event: 'ticket.accepted' },
  survey: { from: ['resolved', 'accepted'], to: 'closed', event: 'ticket.surveyed' },
  // A report that is no problem at all (a duplicate, a wrong number) is closed from `new`.
  close: { from: ['new', 'resolved', 'accepted'], to: 'closed', event: 'ticket.closed' },
  reopen: { from: ['resolved', 'accepted', 'closed'], to: 'reopened', event: 'ticket.reopened' },
};

export type Step = { ok: true; status: TicketStatus } | { ok: false; message: string };

export function step(status: TicketStatus, action: Action): Step {
  const t = TRANSITIONS[action];
  if (!t.from.includes(status)) return { ok: false, message: `cannot ${action} a ticket that is ${status} (only when ${t.from.join(', ')})` };
  return { ok: true, status: t.to ?? status };
}

/** Still needs someone: the SLA clock runs and a new finding updates it rather than opening another. */
export function isActive(status: TicketStatus): boolean {
  return status !== 'resolved' && status !== 'accepted' && status !== 'closed';
}

/** Not yet responded to: the response SLA runs until the ticket leaves these states. */
export function awaitsResponse(status: TicketStatus): boolean {
  return status === 'new' || status === 'open' || status === 'reopened';
}
