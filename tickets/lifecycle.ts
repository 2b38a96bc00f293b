import type { TicketEventType, TicketStatus } from '../core/index.ts';

export type Action = 'acknowledge' | 'start' | 'assign' | 'comment' | 'resolve' | 'close' | 'reopen';

/**
 * The ticket state machine: for each action, the states it may start from and the state it leads to
 * (`null`: the status stays). `open → acknowledged → in_progress → resolved → closed`, with `reopened`
 * from resolved or closed, which behaves like open.
 */
export const TRANSITIONS: Readonly<Record<Action, { from: readonly TicketStatus[]; to: TicketStatus | null; event: TicketEventType }>> = {
  acknowledge: { from: ['open', 'reopened'], to: 'acknowledged', event: 'ticket.acknowledged' },
  start: { from: ['open', 'reopened', 'acknowledged'], to: 'in_progress', event: 'ticket.started' },
  assign: { from: ['open', 'reopened', 'acknowledged', 'in_progress'], to: null, event: 'ticket.assigned' },
  comment: { from: ['open', 'reopened', 'acknowledged', 'in_progress', 'resolved', 'closed'], to: null, event: 'ticket.commented' },
  resolve: { from: ['open', 'reopened', 'acknowledged', 'in_progress'], to: 'resolved', event: 'ticket.resolved' },
  close: { from: ['resolved'], to: 'closed', event: 'ticket.closed' },
  reopen: { from: ['resolved', 'closed'], to: 'reopened', event: 'ticket.reopened' },
};

export type Step = { ok: true; status: TicketStatus } | { ok: false; message: string };

export function step(status: TicketStatus, action: Action): Step {
  const t = TRANSITIONS[action];
  if (!t.from.includes(status)) return { ok: false, message: `cannot ${action} a ticket that is ${status} (only when ${t.from.join(', ')})` };
  return { ok: true, status: t.to ?? status };
}

/** Still needs someone: the SLA clock runs and a new finding updates it rather than opening another. */
export function isActive(status: TicketStatus): boolean {
  return status !== 'resolved' && status !== 'closed';
}

/** Not yet responded to: the response SLA runs until the ticket leaves these states. */
export function awaitsResponse(status: TicketStatus): boolean {
  return status === 'open' || status === 'reopened';
}
