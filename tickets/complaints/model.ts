import { z } from 'zod';
import { ChannelSchema, ContactSchema } from '../../core/index.ts';

/** What the complaint is about, and the causes under each (the organisation's usual complaint scale). */
export const ComplaintTypeSchema = z.enum(['service', 'product', 'price', 'process']);
export type ComplaintType = z.infer<typeof ComplaintTypeSchema>;
export const CAUSES = {
  service: ['attitude', 'speed', 'competence'],
  product: ['quality', 'performance', 'safety'],
  price: ['price', 'billing'],
  process: ['process'],
} as const satisfies Record<ComplaintType, readonly string[]>;
export const ComplaintCauseSchema = z.enum(['attitude', 'speed', 'competence', 'quality', 'performance', 'safety', 'price', 'billing', 'process']);
export type ComplaintCause = z.infer<typeof ComplaintCauseSchema>;

/** Crisis: a safety risk or public exposure, answered in minutes; then high, important, routine. */
export const GradeSchema = z.enum(['crisis', 'high', 'important', 'routine']);
export type Grade = z.infer<typeof GradeSchema>;
export const GRADES = GradeSchema.options;

/** registered → assessed → resolved → followed_up → archived. */
export const ComplaintStatusSchema = z.enum(['registered', 'assessed', 'resolved', 'followed_up', 'archived']);
export type ComplaintStatus = z.infer<typeof ComplaintStatusSchema>;

export const RootCauseSchema = z.strictObject({
  /** The root cause in one line. */
  cause: z.string().trim().min(1).max(1000),
  /** The "5 whys": each answer one step deeper, one to five of them. */
  whys: z.array(z.string().trim().min(1).max(500)).min(1).max(5),
  correctiveAction: z.string().trim().min(1).max(2000),
});

export const ComplaintSchema = z.strictObject({
  id: z.number().int().positive(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  status: ComplaintStatusSchema,
  channel: ChannelSchema,
  contact: ContactSchema,
  /** The customer as the policy names them (from the site), else as given. */
  customer: z.string().nullable(),
  site: z.string().nullable(),
  complaintType: ComplaintTypeSchema,
  cause: ComplaintCauseSchema,
  description: z.string(),
  /** A severe quality problem (product complaints): graded high. */
  severe: z.boolean(),
  safetyRisk: z.boolean(),
  publicExposure: z.boolean(),
  grade: GradeSchema,
  /** The same customer complained of the same cause within `complaints.repeatWindow`: one grade up. */
  repeat: z.boolean(),
  repeatOf: z.number().int().nullable(),
  ticketIds: z.array(z.number().int().positive()),
  respondBy: z.number().int(),
  resolveBy: z.number().int(),
  assessedAt: z.number().int().nullable(),
  resolvedAt: z.number().int().nullable(),
  resolution: z.string().nullable(),
  /** The mandatory return visit: whether the customer was reached, and their answer. */
  followUp: z.strictObject({ at: z.number().int(), reached: z.boolean(), score: z.number().int().min(1).max(5).nullable(), note: z.string() }).nullable(),
  rootCause: RootCauseSchema.nullable(),
  archivedAt: z.number().int().nullable(),
});
export type Complaint = z.infer<typeof ComplaintSchema>;

export const ComplaintEventSchema = z.strictObject({
  id: z.number().int().positive(),
  complaintId: z.number().int().positive(),
  type: z.enum(['complaint.registered', 'complaint.assessed', 'complaint.resolved', 'complaint.followed_up', 'complaint.archived']),
  at: z.number().int(),
  actor: z.strictObject({ name: z.string(), role: z.string() }),
  detail: z.record(z.string(), z.unknown()),
});
export type ComplaintEvent = z.infer<typeof ComplaintEventSchema>;
