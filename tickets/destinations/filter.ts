import { z } from 'zod';
import { NON_TICKET_EVENTS, type OutgoingPayload, PrioritySchema, type WebhookEventType, WebhookEventTypeSchema } from '../../core/index.ts';

/** Which events a destination wants; every kind has these beside its own settings. */
export const EventFilterShape = {
  /** Event types; `*` is every ticket event (`kpi.below_target` and `report.faults` must be named, their bodies have no ticket). */
  events: z.array(z.union([WebhookEventTypeSchema, z.literal('*')])).min(1).default(['*']),
  /** Only tickets of these priorities (KPI events carry none and are left out when this is set). */
  priorities: z.array(PrioritySchema).min(1).optional(),
  /** Only tickets of these sites (and KPI events of these sites). */
  sites: z.array(z.string().min(1)).min(1).optional(),
};

export interface EventFilter {
  events: readonly (WebhookEventType | '*')[];
  priorities?: readonly string[] | undefined;
  sites?: readonly string[] | undefined;
}

/** `*` is every ticket event; a KPI or report event goes only to those who named it (its body has no ticket). */
export function wantsType(events: readonly (WebhookEventType | '*')[], type: WebhookEventType): boolean {
  return (events.includes('*') && !NON_TICKET_EVENTS.has(type)) || events.includes(type);
}

/** Whether a subscription or destination with this filter takes the event. */
export function wants(f: EventFilter, ev: OutgoingPayload): boolean {
  if (!wantsType(f.events, ev.type)) return false;
  // The report covers every site: not for a destination narrowed to some sites or priorities.
  if (ev.type === 'report.faults') return !f.priorities && !f.sites;
  if (ev.type === 'kpi.below_target') {
    if (f.priorities) return false;
    return !f.sites || (ev.detail.groupBy === 'site' && f.sites.includes(ev.detail.group));
  }
  if (f.priorities && !f.priorities.includes(ev.ticket.priority)) return false;
  return !f.sites || (ev.ticket.site !== null && f.sites.includes(ev.ticket.site));
}
