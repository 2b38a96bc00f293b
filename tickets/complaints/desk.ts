import { type Actor, type Clock, type CustomerReport, type Sql, retrying } from '../../core/index.ts';
import { type TicketPolicy, assetOf } from '../policy.ts';
import type { TicketStore } from '../store.ts';
import { COMPLAINT_FLOW, type ComplaintAction, complaintStep } from './lifecycle.ts';
import { CAUSES, type Complaint, type ComplaintCause, type ComplaintEvent, type ComplaintType, GRADES, type Grade } from './model.ts';
import { ComplaintStore } from './store.ts';

export interface ComplaintInput {
  channel: CustomerReport['channel'];
  contact: CustomerReport['contact'];
  customer?: string | undefined;
  site?: string | undefined;
  complaintType: ComplaintType;
  cause: ComplaintCause;
  description: string;
  severe?: boolean | undefined;
  safetyRisk?: boolean | undefined;
  publicExposure?: boolean | undefined;
  ticketIds?: number[] | undefined;
}

export type ComplaintActionInput =
  | { action: 'assess'; grade?: Grade | undefined; note: string }
  | { action: 'resolve'; resolution: string }
  | { action: 'follow-up'; reached: boolean; score?: number | undefined; note: string }
  | { action: 'archive'; rootCause: { cause: string; whys: string[]; correctiveAction: string } };

export type ComplaintResult = { ok: true; complaint: Complaint; event: ComplaintEvent } | { ok: false; status: 400 | 404 | 409; error: string; message: string };

/** The grade a complaint's facts call for, before a repeat moves it up. */
export function gradeOf(c: { complaintType: ComplaintType; cause: ComplaintCause; severe: boolean; safetyRisk: boolean; publicExposure: boolean }): Grade {
  if (c.safetyRisk || c.publicExposure || c.cause === 'safety') return 'crisis';
  if (c.complaintType === 'product' && c.severe) return 'high';
  if (c.complaintType === 'service' || c.complaintType === 'process') return 'important';
  return 'routine';
}

/** One grade more urgent; crisis stays crisis. */
export function escalateGrade(g: Grade): Grade {
  return GRADES[Math.max(0, GRADES.indexOf(g) - 1)]!;
}

/**
 * Complaints about the service itself: graded, deadlined, linked to the tickets they are about,
 * flagged and escalated when the same customer complains of the same cause again, and carried
 * through registered → assessed → resolved → followed up (mandatory) → archived (with a root cause).
 */
export class ComplaintDesk {
  private constructor(
    private readonly sql: Sql,
    readonly store: ComplaintStore,
    private readonly policy: () => TicketPolicy,
    private readonly tickets: TicketStore,
    private readonly clock: Clock,
  ) {}

  static async open(sql: Sql, policy: () => TicketPolicy, tickets: TicketStore, clock: Clock): Promise<ComplaintDesk> {
    return new ComplaintDesk(sql, await ComplaintStore.open(sql), policy, tickets, clock);
  }

  async register(input: ComplaintInput, actor: Actor): Promise<ComplaintResult> {
    if (!(CAUSES[input.complaintType] as readonly string[]).includes(input.cause)) {
      return { ok: false, status: 400, error: 'bad_request', message: `cause: a ${input.complaintType} complaint is about ${CAUSES[input.complaintType].join(', ')}, not ${input.cause}` };
    }
    const ids = [...new Set(input.ticketIds ?? [])];
    const linked = await Promise.all(ids.map((id) => this.tickets.get(id)));
    const missing = ids.filter((_, i) => !linked[i]);
    if (missing.length) return { ok: false, status: 400, error: 'bad_request', message: `ticketIds: no ticket ${missing.join(', ')}` };
    const first = linked[0];
    const site = input.site ?? first?.site ?? undefined;
    if (input.site && first?.site && first.site !== input.site) return { ok: false, status: 400, error: 'bad_request', message: `site: ticket ${first.id} is at ${first.site}, not ${input.site}` };
    return this.sql.tx(async (): Promise<ComplaintResult> => {
      const now = this.clock.now();
      const policy = this.policy();
      const asset = assetOf(policy, first?.deviceId ?? '', site ?? null);
      const customer = input.customer ?? asset.customer ?? null;
      // Who is complaining, as stably as what we know allows: the policy's customer, else their address.
      const customerKey = (customer ?? input.contact.email ?? input.contact.phone ?? input.contact.name).trim().toLowerCase();
      const facts = { complaintType: input.complaintType, cause: input.cause, severe: input.severe ?? false, safetyRisk: input.safetyRisk ?? false, publicExposure: input.publicExposure ?? false };
      const before = await this.store.previous(customerKey, input.cause, now - policy.complaints.repeatWindow);
      const base = gradeOf(facts);
      const grade = before ? escalateGrade(base) : base;
      const sla = policy.complaints.grades[grade];
      const complaint = await this.store.create(
        {
          createdAt: now,
          updatedAt: now,
          status: 'registered',
          channel: input.channel,
          contact: input.contact,
          customer,
          site: site ?? null,
          ...facts,
          description: input.description,
          grade,
          repeat: before !== undefined,
          repeatOf: before?.id ?? null,
          ticketIds: ids,
          respondBy: now + sla.response,
          resolveBy: now + sla.resolution,
          assessedAt: null,
          resolvedAt: null,
          resolution: null,
          followUp: null,
          rootCause: null,
          archivedAt: null,
        },
        customerKey,
        { region: asset.region, grp: first?.dispatchGroup ?? '', equipment: first ? asset.equipment : '' },
      );
      const event = await this.store.addEvent(complaint.id, 'complaint.registered', now, actor, { grade, ...(before ? { repeatOf: before.id, escalatedFrom: base } : {}) });
      return { ok: true, complaint, event };
    });
  }

  act(id: number, input: ComplaintActionInput, actor: Actor): Promise<ComplaintResult> {
    return retrying(this.sql, async (): Promise<ComplaintResult> => {
      const c = await this.store.get(id, { forUpdate: true });
      if (!c) return { ok: false, status: 404, error: 'not_found', message: `no complaint ${id}` };
      const s = complaintStep(c.status, input.action as ComplaintAction);
      if (!s.ok) return { ok: false, status: 409, error: 'conflict', message: s.message };
      const now = this.clock.now();
      const next: Complaint = { ...c, status: s.status, updatedAt: now };
      const detail: Record<string, unknown> = { from: c.status, to: s.status };
      switch (input.action) {
        case 'assess':
          next.assessedAt = now;
          detail.note = input.note;
          if (input.grade && input.grade !== c.grade) {
            // A regrade moves the deadlines too, still counted from registration.
            const sla = this.policy().complaints.grades[input.grade];
            Object.assign(next, { grade: input.grade, respondBy: c.createdAt + sla.response, resolveBy: c.createdAt + sla.resolution });
            detail.grade = { from: c.grade, to: input.grade };
          }
          break;
        case 'resolve':
          next.resolvedAt = now;
          next.resolution = input.resolution;
          break;
        case 'follow-up':
          next.followUp = { at: now, reached: input.reached, score: input.score ?? null, note: input.note };
          Object.assign(detail, { reached: input.reached, score: input.score ?? null });
          break;
        case 'archive':
          next.rootCause = input.rootCause;
          next.archivedAt = now;
          detail.rootCause = input.rootCause.cause;
          break;
      }
      await this.store.save(next);
      const event = await this.store.addEvent(id, COMPLAINT_FLOW[input.action].event, now, actor, detail);
      return { ok: true, complaint: next, event };
    });
  }
}
