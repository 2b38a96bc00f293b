import type { ComplaintEvent, ComplaintStatus } from './model.ts';

export type ComplaintAction = 'assess' | 'resolve' | 'follow-up' | 'archive';

/** Each action, the one state it starts from, and where it leads: the flow is a straight line. */
export const COMPLAINT_FLOW: Readonly<Record<ComplaintAction, { from: ComplaintStatus; to: ComplaintStatus; event: ComplaintEvent['type'] }>> = {
  assess: { from: 'registered', to: 'assessed', event: 'complaint.assessed' },
  resolve: { from: 'assessed', to: 'resolved', event: 'complaint.resolved' },
  'follow-up': { from: 'resolved', to: 'followed_up', event: 'complaint.followed_up' },
  archive: { from: 'followed_up', to: 'archived', event: 'complaint.archived' },
};

export function complaintStep(status: ComplaintStatus, action: ComplaintAction): { ok: true; status: ComplaintStatus } | { ok: false; message: string } {
  const t = COMPLAINT_FLOW[action];
  return t.from === status ? { ok: true, status: t.to } : { ok: false, message: `cannot ${action} a complaint that is ${status} (only when ${t.from})` };
}
