import { z } from 'zod';
import { type KpiWebhookPayload, PrioritySchema, type WebhookEventType, WebhookEventTypeSchema, type WebhookPayload } from '../../core/index.ts';

/** Which events a destination wants; every kind has these beside its own settings. */
export const EventFilterShape = {
  /** Event types; `*` is every ticket event (`kpi.below_target` must be named, its body has no ticket). */
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

/** `*` is every ticket event; a KPI event goes only to those who named it (its body has no ticket). */
export function wantsType(events: readonly (WebhookEventType | '*')[], type: WebhookEventType): boolean {
  return (events.includes('*') && type !== 'kpi.below_target') || events.includes(type);
}

/** Whether a subscription or destination with this filter takes the event. */
export function wants(f: EventFilter, ev: WebhookPayload | KpiWebhookPayload): boolean {
  if (!wantsType(f.events, ev.type)) return false;
  if (ev.type === 'kpi.below_target') {
    if (f.priorities) return false;
    return !f.sites || (ev.detail.groupBy === 'site' && f.sites.includes(ev.detail.group));
  }
  if (f.priorities && !f.priorities.includes(ev.ticket.priority)) return false;
  return !f.sites || (ev.ticket.site !== null && f.sites.includes(ev.ticket.site));
}
