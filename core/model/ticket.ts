import { z } from 'zod';
import { DeviceIdSchema } from './ids.ts';
import { FaultSchema, SeveritySchema } from './finding.ts';

export const PrioritySchema = z.enum(['P1', 'P2', 'P3', 'P4']);
export type Priority = z.infer<typeof PrioritySchema>;

/**
 * `new`: a customer's report not yet tied to a known site, awaiting the desk's review. `accepted`: the
 * customer confirmed the fix; the return visit (a satisfaction survey) closes it.
 */
export const TicketStatusSchema = z.enum(['new', 'open', 'acknowledged', 'in_progress', 'resolved', 'accepted', 'closed', 'reopened']);
export type TicketStatus = z.infer<typeof TicketStatusSchema>;

/** The service desk's verdict at resolution; it feeds each rule's precision. */
export const OutcomeSchema = z.enum(['confirmed', 'no_fault_found', 'false_alarm']);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** What happened to a ticket; each is one history entry, one live-stream event and one webhook event. */
export const TicketEventTypeSchema = z.enum([
  'ticket.created',
  'ticket.updated',
  'ticket.finding_resolved',
  'ticket.acknowledged',
  'ticket.started',
  'ticket.assigned',
  'ticket.commented',
  'ticket.resolved',
  'ticket.closed',
  'ticket.reopened',
  'ticket.sla_breached',
  'ticket.reported',
  'ticket.reviewed',
  'ticket.visit_planned',
  'ticket.visit_updated',
  'ticket.accepted',
  'ticket.surveyed',
]);
export type TicketEventType = z.infer<typeof TicketEventTypeSchema>;

/**
 * What a webhook subscription can ask for: every ticket event, `kpi.below_target` (a desk figure fell
 * below its target for a site or dispatch group this month) and `report.faults` (last month's
 * engineering report), which `*` does not include, since their bodies carry no ticket.
 */
export const WebhookEventTypeSchema = z.enum([...TicketEventTypeSchema.options, 'kpi.below_target', 'report.faults']);
/** Events whose body carries no ticket: `*` does not include them; a subscription names them. */
export const NON_TICKET_EVENTS: ReadonlySet<string> = new Set(['kpi.below_target', 'report.faults']);
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

const LimitCrossedSchema = z.strictObject({
  ruleId: z.string(),
  metric: z.string(),
  severity: SeveritySchema,
  /** What the rule compares: the value itself, a ratio or deviations from baseline, or time to a limit. */
  measure: z.string(),
  value: z.number().nullable(),
  limit: z.number().nullable(),
});

const ReadingsSummarySchema = z.strictObject({
  metric: z.string(),
  from: z.number().int(),
  to: z.number().int(),
  count: z.number().int(),
  min: z.number(),
  mean: z.number(),
  max: z.number(),
  last: z.number(),
});

export const TicketEvidenceSchema = z.strictObject({
  /** Per metric the rules watch, the last hour of per-minute history. */
  recent: z.array(ReadingsSummarySchema),
  /** The learned normal level per metric, where a baseline rule has one. */
  baseline: z.record(z.string(), z.number()),
  limitsCrossed: z.array(LimitCrossedSchema),
  /** Earliest predicted crossing of a limit (epoch ms) from a trend rule, or null. */
  predictedLimitAt: z.number().int().nullable(),
  /** The latest finding of each rule on this ticket, as the rule emitted it. */
  findings: z.array(z.strictObject({ ruleId: z.string(), metric: z.string(), severity: SeveritySchema, event: z.string(), at: z.number().int(), evidence: z.record(z.string(), z.unknown()) })),
  /**
   * Vibration that neighbours on the same machine feel from this device (ruleset `machine`): the latest
   * finding of each rule on each of them. Evidence that the problem is here, not tickets of their own.
   */
  transmitted: z
    .array(z.strictObject({ deviceId: z.string(), ruleId: z.string(), metric: z.string(), severity: SeveritySchema, event: z.string(), at: z.number().int(), evidence: z.record(z.string(), z.unknown()) }))
    .default([]),
});
export type TicketEvidence = z.infer<typeof TicketEvidenceSchema>;

/** Where a ticket came from: a rule's finding, or a customer's report. */
export const TicketSourceSchema = z.enum(['predicted', 'reported']);
export type TicketSource = z.infer<typeof TicketSourceSchema>;
export const ChannelSchema = z.enum(['phone', 'web', 'app', 'email', 'onsite']);
/** The customer's own view of how urgent it is (priority stays the policy's decision). */
export const UrgencySchema = z.enum(['low', 'normal', 'high', 'critical']);
export type Urgency = z.infer<typeof UrgencySchema>;
export const ContactSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  phone: z.string().trim().regex(/^[+0-9 ()./-]{3,40}$/, 'digits, spaces and + ( ) . / - only').optional(),
  email: z.email().max(254).optional(),
});

/** A customer's report as recorded on the ticket it opened or joined. */
export const CustomerReportSchema = z.strictObject({
  at: z.number().int(),
  channel: ChannelSchema,
  contact: ContactSchema,
  symptom: z.string(),
  urgency: UrgencySchema,
  /** Who took it down (the desk's token name). */
  recordedBy: z.string(),
});
export type CustomerReport = z.infer<typeof CustomerReportSchema>;

export const VisitResultSchema = z.enum(['fixed', 'not_fixed', 'needs_parts']);
export const PartUsedSchema = z.strictObject({ name: z.string().trim().min(1).max(200), quantity: z.number().positive().max(1_000_000) });
/** A technician's visit: planned, then (as it happens) arrived, left, the work and its result. */
export const VisitSchema = z.strictObject({
  /** 1, 2, ... in the order the visits were recorded. */
  n: z.number().int().positive(),
  plannedAt: z.number().int(),
  technician: z.string(),
  arrivedAt: z.number().int().nullable(),
  leftAt: z.number().int().nullable(),
  workDone: z.string().nullable(),
  partsUsed: z.array(PartUsedSchema),
  result: VisitResultSchema.nullable(),
});
export type Visit = z.infer<typeof VisitSchema>;

/**
 * How a ticket was put right, recorded at resolution: the structured half of a case that later tickets
 * learn from. Every field may be empty (tickets resolved before it existed have `resolution: null`).
 */
export const ResolutionSchema = z.strictObject({
  /** The root cause, a code of the fault-code catalog (ISO 14224 failure modes, mechanisms and causes, and the operator's own). */
  faultCode: z.string().nullable(),
  /** The component that failed (`drive-end bearing`). */
  component: z.string().nullable(),
  /** What was done (`replaced the bearing and regreased`). */
  action: z.string().nullable(),
  partsUsed: z.array(PartUsedSchema),
  minutesOnSite: z.number().int().nullable(),
});
export type Resolution = z.infer<typeof ResolutionSchema>;

/** The equipment a ticket is about, as the ruleset's device entries describe it when the ticket opened. */
export const EquipmentSchema = z.strictObject({
  model: z.string(),
  firmware: z.string().nullable(),
  /** When the machine went into service (epoch ms): where its time between failures counts from. */
  installedAt: z.number().int().nullable(),
});
export type Equipment = z.infer<typeof EquipmentSchema>;

export const AcceptanceSchema = z.strictObject({
  at: z.number().int(),
  /** The customer's name as they gave it. */
  by: z.string(),
  /** `technician`: recorded on site; `link`: the customer confirmed through the signed link. */
  via: z.enum(['technician', 'link', 'api', 'webhook']),
});
export type Acceptance = z.infer<typeof AcceptanceSchema>;
/** The return visit's answer: satisfaction 1-5 (4 and 5 count as satisfied), optional NPS 0-10. */
export const SurveySchema = z.strictObject({
  at: z.number().int(),
  score: z.number().int().min(1).max(5),
  nps: z.number().int().min(0).max(10).nullable(),
  comment: z.string().nullable(),
  via: z.enum(['api', 'webhook', 'page']),
});
export type Survey = z.infer<typeof SurveySchema>;

export const TicketSchema = z.strictObject({
  id: z.number().int().positive(),
  dedupeKey: z.string(),
  site: z.string().nullable(),
  /** Null only for a customer's report that names no device. */
  deviceId: DeviceIdSchema.nullable(),
  fault: FaultSchema,
  title: z.string(),
  status: TicketStatusSchema,
  priority: PrioritySchema,
  severity: SeveritySchema,
  dispatchGroup: z.string(),
  assignee: z.string().nullable(),
  /** Findings that fired or escalated this ticket. */
  occurrences: z.number().int().positive(),
  rules: z.array(z.string()),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  firstSeenAt: z.number().int(),
  lastSeenAt: z.number().int(),
  /** The alert behind it has cleared (a resolve finding); the ticket stays until the desk closes it. */
  conditionCleared: z.boolean(),
  respondBy: z.number().int(),
  resolveBy: z.number().int(),
  acknowledgedAt: z.number().int().nullable(),
  resolvedAt: z.number().int().nullable(),
  closedAt: z.number().int().nullable(),
  slaBreached: z.array(z.enum(['response', 'resolution'])),
  outcome: OutcomeSchema.nullable(),
  suggestedAction: z.string(),
  likelyParts: z.array(z.string()),
  evidence: TicketEvidenceSchema,
  externalRef: z.string().nullable(),
  source: TicketSourceSchema,
  /** Customers' reports: the one that opened a reported ticket, and any that joined a predicted one. */
  reports: z.array(CustomerReportSchema),
  /** The customer noticed the problem too (a report joined this predicted ticket). */
  customerNoticed: z.boolean(),
  visits: z.array(VisitSchema),
  acceptance: AcceptanceSchema.nullable(),
  survey: SurveySchema.nullable(),
  /** How a closed ticket ended: by the desk, by the return visit's answer, or with no answer in time. */
  closeReason: z.enum(['desk', 'answered', 'no_response']).nullable(),
  /**
   * The first visit fixed it and nothing for the same device and problem opened or reopened since;
   * null until a visit has a result. Final once `firstFixUntil` has passed.
   */
  firstTimeFix: z.boolean().nullable(),
  firstFixUntil: z.number().int().nullable(),
  /** The device's model, firmware and installation date when the ticket opened; null when the ruleset names no model. */
  equipment: EquipmentSchema.nullable(),
  /** How it was put right, from the last resolution; null until then. */
  resolution: ResolutionSchema.nullable(),
  /**
   * Moves on with every change. An action that gives the version it was decided on is refused (409)
   * when the ticket has changed since, so two people cannot overwrite each other unseen.
   */
  version: z.number().int().positive(),
});
export type Ticket = z.infer<typeof TicketSchema>;

/** What a ticket stored before the service-loop fields existed reads as. */
export const TICKET_DEFAULTS = {
  source: 'predicted',
  reports: [],
  customerNoticed: false,
  visits: [],
  acceptance: null,
  survey: null,
  closeReason: null,
  firstTimeFix: null,
  firstFixUntil: null,
  equipment: null,
  resolution: null,
} as const satisfies Partial<Ticket>;

/** Who did it: a token's name and role, the rule engine, the SLA clock or the service desk's system. */
export const ActorSchema = z.strictObject({ name: z.string(), role: z.string() });
export type Actor = z.infer<typeof ActorSchema>;

/** One entry of a ticket's history, as the live stream and webhooks carry it. */
export const TicketEventSchema = z.strictObject({
  /** Unique and increasing; the webhook idempotency key is derived from it. */
  id: z.number().int().positive(),
  type: TicketEventTypeSchema,
  at: z.number().int(),
  ticketId: z.number().int().positive(),
  actor: ActorSchema,
  detail: z.record(z.string(), z.unknown()),
});
export type TicketEvent = z.infer<typeof TicketEventSchema>;

/** The body of a `kpi.below_target` webhook: which figure, for whom, in which period, against which target. */
export const KpiWebhookPayloadSchema = z.strictObject({
  id: z.string(),
  type: z.literal('kpi.below_target'),
  at: z.string(),
  detail: z.strictObject({
    groupBy: z.enum(['site', 'group']),
    group: z.string(),
    /** The month, `2026-11` (UTC). */
    period: z.string(),
    kpi: z.enum(['response', 'firstTimeFix', 'resolution', 'satisfaction']),
    value: z.number(),
    target: z.number(),
    /** How many tickets the figure counts. */
    tickets: z.number().int(),
  }),
});
export type KpiWebhookPayload = z.infer<typeof KpiWebhookPayloadSchema>;

export const FaultGroupBySchema = z.enum(['model', 'firmware', 'site']);
export type FaultGroupBy = z.infer<typeof FaultGroupBySchema>;

const count = z.number().int();
/** One group of the engineering report (`GET /api/v1/reports/faults`, the `report.faults` event). */
export const FaultReportRowSchema = z.strictObject({
  /** The model, firmware or site; `unknown` for tickets whose device has none in the ruleset. */
  group: z.string(),
  tickets: count,
  devices: count,
  /** Fault types, most frequent first. */
  faults: z.array(z.strictObject({ fault: z.string(), count })),
  /** Fault codes of the resolutions, most frequent first. */
  faultCodes: z.array(z.strictObject({ code: z.string(), title: z.string().nullable(), count })),
  /** Tickets resolved with an outcome. */
  judged: count,
  confirmed: count,
  /** confirmed / judged; null with nothing judged. */
  confirmedShare: z.number().nullable(),
  /**
   * Mean time between failures, hours (EN 15341, after EN 13306): per device, the time from its
   * installation (or its first reading the history holds) to its first confirmed fault, and between
   * confirmed faults after that, averaged over every confirmed fault.
   */
  mtbfHours: z.number().nullable(),
  /** Mean time to restoration, hours (EN 15341): from the ticket opening to its resolution, over confirmed faults. */
  mttrHours: z.number().nullable(),
  /** Mean time on site, minutes, where the resolution records it (the active repair time within MTTR). */
  meanMinutesOnSite: z.number().nullable(),
  /** Share of tickets a rule predicted before the customer reported anything. */
  predictedShare: z.number().nullable(),
});
export type FaultReportRow = z.infer<typeof FaultReportRowSchema>;

/** The body of a `report.faults` webhook: last calendar month's engineering report per model. */
export const FaultReportWebhookPayloadSchema = z.strictObject({
  id: z.string(),
  type: z.literal('report.faults'),
  at: z.string(),
  detail: z.strictObject({
    /** The month, `2026-11` (UTC). */
    period: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    groupBy: FaultGroupBySchema,
    rows: z.array(FaultReportRowSchema),
  }),
});
export type FaultReportWebhookPayload = z.infer<typeof FaultReportWebhookPayloadSchema>;

/** A webhook's body: the event and the ticket as it stands after it. */
export const WebhookPayloadSchema = z.strictObject({
  id: z.string(),
  type: TicketEventTypeSchema,
  at: z.string(),
  actor: ActorSchema,
  detail: z.record(z.string(), z.unknown()),
  ticket: TicketSchema,
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;

/** Whatever an outgoing event carries: a ticket event, a KPI below target, or the monthly fault report. */
export type OutgoingPayload = WebhookPayload | KpiWebhookPayload | FaultReportWebhookPayload;
