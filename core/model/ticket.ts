import { z } from 'zod';
import { DeviceIdSchema } from './ids.ts';
import { FaultSchema, SeveritySchema } from './finding.ts';

export const PrioritySchema = z.enum(['P1', 'P2', 'P3', 'P4']);
export type Priority = z.infer<typeof PrioritySchema>;

export const TicketStatusSchema = z.enum(['open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'reopened']);
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
]);
export type TicketEventType = z.infer<typeof TicketEventTypeSchema>;

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
});
export type TicketEvidence = z.infer<typeof TicketEvidenceSchema>;

export const TicketSchema = z.strictObject({
  id: z.number().int().positive(),
  dedupeKey: z.string(),
  site: z.string().nullable(),
  deviceId: DeviceIdSchema,
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
});
export type Ticket = z.infer<typeof TicketSchema>;

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
