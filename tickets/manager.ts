import { z } from 'zod';
import {
  type Actor,
  type Clock,
  Counter,
  type Db,
  type SecretBox,
  DurationSchema,
  FaultSchema,
  type Finding,
  Gauge,
  type Logger,
  type Outcome,
  type Registry,
  type Service,
  type Ticket,
  type TicketEvent,
  VIBRATION_DIAGNOSES,
  type TicketEventType,
  type TimerHandle,
  type WebhookPayload,
} from '../core/index.ts';
import { type HistoryRows, buildEvidence } from './evidence.ts';
import { AdviceSchema, adviceFor } from './knowledge.ts';
import { TRANSITIONS, awaitsResponse, step } from './lifecycle.ts';
import { TicketPolicySchema, assetOf, dispatchGroupOf, escalate, higherPriority, priorityOf, slaOf } from './policy.ts';
import { type RuleStats, TicketStore } from './store.ts';
import { WebhookConfigSchema, WebhookDispatcher, idempotencyKey } from './webhooks/dispatcher.ts';
import { WebhookOutbox } from './webhooks/outbox.ts';

export const TicketsConfigSchema = z
  .strictObject({
    policy: TicketPolicySchema,
    /** Replaces the shipped suggested action and likely parts for a fault. */
    knowledge: z.partialRecord(FaultSchema, AdviceSchema).default({}),
    /** How often SLA deadlines are checked against the clock. */
    slaCheckEvery: DurationSchema.prefault('30s'),
    webhooks: WebhookConfigSchema,
  })
  .prefault({});
export type TicketsConfig = z.infer<typeof TicketsConfigSchema>;

export const RULE_ENGINE: Actor = { name: 'rule-engine', role: 'system' };
export const SLA_CLOCK: Actor = { name: 'sla-clock', role: 'system' };


export type ActionInput =
  | { action: 'acknowledge' | 'start' | 'close' | 'reopen'; note?: string | undefined; externalRef?: string | undefined }
  | { action: 'assign'; assignee: string; note?: string | undefined; externalRef?: string | undefined }
  | { action: 'comment'; note: string; externalRef?: string | undefined }
  | { action: 'resolve'; outcome: Outcome; note: string; externalRef?: string | undefined };

export type ActResult = { ok: true; ticket: Ticket; event: TicketEvent } | { ok: false; status: 404 | 409; error: string; message: string };

/** Findings already stored by the rule engine, oldest first after an id: the catch-up after a restart. */
export interface FindingSource {
  since(afterId: number, limit: number): (Finding & { id: number })[];
}

export interface TicketDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  registry: Registry;
  history?: HistoryRows | undefined;
  findings?: FindingSource | undefined;
  /** Seals webhook secrets at rest. */
  secrets?: SecretBox | undefined;
}

/**
 * Turns findings into tickets and carries them through their lifecycle. Lifecycle: start() catches up
 * on findings stored while it was not running, starts the SLA clock and webhook delivery; stop() ends
 * both. Every change is one SQLite transaction holding the ticket, its history entry and its webhook
 * deliveries, so they are never out of step.
 */
export class TicketManager implements Service {
  readonly name = 'tickets';
  readonly store: TicketStore;
  readonly outbox: WebhookOutbox;
  readonly webhooks: WebhookDispatcher;
  private readonly listeners: ((ev: TicketEvent, t: Ticket) => void)[] = [];
  private timer: TimerHandle | undefined;
  private stopped = true;
  private readonly eventsTotal: Counter<'type'>;

  constructor(
    private readonly config: TicketsConfig,
    private readonly deps: TicketDeps,
  ) {
    this.store = new TicketStore(deps.db);
    this.outbox = new WebhookOutbox(deps.db, deps.secrets);
    const resealed = this.outbox.reseal();
    if (resealed > 0) deps.log.info({ subscriptions: resealed }, 'webhook secrets sealed with the current key');
    this.webhooks = new WebhookDispatcher(config.webhooks, { outbox: this.outbox, clock: deps.clock, log: deps.log.child({ component: 'webhooks' }), registry: deps.registry });
    const registers = [deps.registry];
    this.eventsTotal = new Counter({ name: 'vigil_ticket_events_total', help: 'Ticket events by type', labelNames: ['type'], registers });
    const store = this.store;
    new Gauge({
      name: 'vigil_tickets',
      help: 'Tickets by status',
      labelNames: ['status'],
      registers,
      collect() {
        // A status with no tickets left must read 0, not its last count.
        this.reset();
        for (const r of store.countByStatus()) this.set({ status: r.status }, r.n);
      },
    });
  }

  /** Every ticket event, after it is committed: the live stream. */
  onEvent(listener: (ev: TicketEvent, t: Ticket) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    const caught = this.catchUp();
    if (caught > 0) this.deps.log.info({ findings: caught }, 'tickets caught up on findings stored while stopped');
    this.checkSla();
    this.scheduleSla();
    await this.webhooks.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    await this.webhooks.stop();
  }

  /** Applies one finding (fire, escalate or resolve); `findingId` advances the catch-up cursor. */
  handleFinding(f: Finding, findingId?: number): Ticket | undefined {
    const out: [TicketEvent, Ticket][] = [];
    const t = this.deps.db.transaction(() => {
      const r = this.apply(f, out);
      if (findingId !== undefined) this.store.setCursor(findingId);
      return r;
    })();
    this.publish(out);
    return t;
  }

  /** A person (or the desk's system) acts on a ticket. Refused with 404 or 409 without changing anything. */
  act(id: number, input: ActionInput, actor: Actor): ActResult {
    const out: [TicketEvent, Ticket][] = [];
    const r = this.deps.db.transaction((): ActResult => {
      const t = this.store.get(id);
      if (!t) return { ok: false, status: 404, error: 'not_found', message: `no ticket ${id}` };
      const s = step(t.status, input.action);
      if (!s.ok) return { ok: false, status: 409, error: 'conflict', message: s.message };
      const now = this.deps.clock.now();
      const next: Ticket = { ...t, status: s.status, updatedAt: now, ...(input.externalRef ? { externalRef: input.externalRef } : {}) };
      const detail: Record<string, unknown> = { from: t.status, to: s.status };
      if (input.note) detail.note = input.note;
      switch (input.action) {
        case 'acknowledge':
        case 'start':
          next.acknowledgedAt = t.acknowledgedAt ?? now;
          break;
        case 'assign':
          next.assignee = input.assignee;
          detail.assignee = input.assignee;
          break;
        case 'resolve':
          next.outcome = input.outcome;
          next.resolvedAt = now;
          detail.outcome = input.outcome;
          break;
        case 'close':
          next.closedAt = now;
          break;
        case 'reopen': {
          const other = this.store.byKey(t.dedupeKey);
          if (other && other.id !== t.id) return { ok: false, status: 409, error: 'conflict', message: `ticket ${other.id} is already open for ${t.dedupeKey}; work on that one` };
          Object.assign(next, { outcome: null, resolvedAt: null, closedAt: null, acknowledgedAt: null, slaBreached: [], ...slaOf(this.config.policy, t.priority, now) });
          break;
        }
        case 'comment':
          break;
      }
      if (input.externalRef) detail.externalRef = input.externalRef;
      this.store.save(next);
      const event = this.record(next, TRANSITIONS[input.action].event, actor, detail, out);
      return { ok: true, ticket: next, event };
    })();
    this.publish(out);
    return r;
  }

  /** Marks tickets past a deadline as breached, once per deadline, and escalates their priority. */
  checkSla(): number {
    const now = this.deps.clock.now();
    const out: [TicketEvent, Ticket][] = [];
    const n = this.deps.db.transaction(() => {
      let n = 0;
      for (const t of this.store.overdue(now)) {
        const kinds = (['response', 'resolution'] as const).filter(
          (k) => !t.slaBreached.includes(k) && (k === 'response' ? awaitsResponse(t.status) && t.respondBy <= now : t.resolveBy <= now),
        );
        let cur = t;
        for (const kind of kinds) {
          const to = escalate(cur.priority);
          cur = { ...cur, slaBreached: [...cur.slaBreached, kind], priority: to, updatedAt: now };
          this.store.save(cur);
          this.record(cur, 'ticket.sla_breached', SLA_CLOCK, { sla: kind, deadline: kind === 'response' ? t.respondBy : t.resolveBy, escalation: { from: t.priority, to } }, out);
          n++;
        }
      }
      return n;
    })();
    this.publish(out);
    return n;
  }

  stats(): RuleStats[] {
    return this.store.ruleStats();
  }

  private catchUp(): number {
    const source = this.deps.findings;
    if (!source) return 0;
    let n = 0;
    for (;;) {
      const batch = source.since(this.store.cursor(), 500);
      if (batch.length === 0) return n;
      for (const f of batch) {
        const { id, ...finding } = f;
        this.handleFinding(finding, id);
        n++;
      }
    }
  }

  private scheduleSla(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      try {
        this.checkSla();
      } catch (err) {
        this.deps.log.error({ err }, 'SLA check failed');
      }
      this.scheduleSla();
    }, this.config.slaCheckEvery);
  }

  /** The open ticket a finding belongs to, refining a symptom ticket into a diagnosis where one arrives. */
  private ticketFor(f: Finding, out: [TicketEvent, Ticket][]): Ticket | undefined {
    const own = this.store.byKey(f.dedupeKey);
    if (own) return own;
    const active = this.store.activeOfDevice(f.deviceId);
    if (f.fault === 'vibration') return active.find((t) => VIBRATION_DIAGNOSES.includes(t.fault));
    // Only a diagnosis that fires refines; one that ends says nothing about the symptom's ticket.
    if (!VIBRATION_DIAGNOSES.includes(f.fault) || f.event === 'resolve') return undefined;
    const symptom = active.find((t) => t.fault === 'vibration');
    if (!symptom) return undefined;
    const advice = adviceFor(f.fault, this.config.knowledge);
    const refined: Ticket = {
      ...symptom,
      fault: f.fault,
      dedupeKey: f.dedupeKey,
      title: titleOf(advice.title, symptom.deviceId, symptom.site),
      suggestedAction: advice.action,
      likelyParts: advice.parts,
      updatedAt: this.deps.clock.now(),
    };
    this.store.save(refined);
    this.record(refined, 'ticket.updated', RULE_ENGINE, { changed: ['fault'], fault: { from: symptom.fault, to: f.fault }, ruleId: f.ruleId }, out);
    return refined;
  }

  private apply(f: Finding, out: [TicketEvent, Ticket][]): Ticket | undefined {
    const now = this.deps.clock.now();
    const t = this.ticketFor(f, out);
    const { policy } = this.config;
    if (f.event === 'resolve') {
      if (!t) return undefined;
      this.store.putFinding(t.id, f);
      const latest = this.store.latestFindings(t.id);
      const cleared = latest.every((x) => x.event === 'resolve');
      const next: Ticket = { ...t, conditionCleared: cleared, updatedAt: now, evidence: buildEvidence(latest, this.deps.history) };
      this.store.save(next);
      const note = `${f.ruleId} on ${f.metric} cleared at ${new Date(f.at).toISOString()}; ${cleared ? 'no rule on this ticket is firing now' : 'other rules on this ticket still fire'}`;
      this.record(next, 'ticket.finding_resolved', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, note, conditionCleared: cleared }, out);
      return next;
    }

    const asset = assetOf(policy, f.deviceId, f.site ?? null);
    const priority = priorityOf(policy, f.severity, t?.fault ?? f.fault, asset);
    if (!t) {
      const advice = adviceFor(f.fault, this.config.knowledge);
      const created = this.store.create({
        dedupeKey: f.dedupeKey,
        site: f.site ?? null,
        deviceId: f.deviceId,
        fault: f.fault,
        title: titleOf(advice.title, f.deviceId, f.site ?? null),
        status: 'open',
        priority,
        severity: f.severity,
        dispatchGroup: dispatchGroupOf(policy, asset),
        assignee: null,
        occurrences: 1,
        rules: [f.ruleId],
        createdAt: now,
        updatedAt: now,
        firstSeenAt: f.at,
        lastSeenAt: f.at,
        conditionCleared: false,
        ...slaOf(policy, priority, now),
        acknowledgedAt: null,
        resolvedAt: null,
        closedAt: null,
        slaBreached: [],
        outcome: null,
        suggestedAction: advice.action,
        likelyParts: advice.parts,
        evidence: { recent: [], baseline: {}, limitsCrossed: [], predictedLimitAt: null, findings: [] },
        externalRef: null,
      });
      this.store.putFinding(created.id, f);
      const ticket = { ...created, evidence: buildEvidence([f], this.deps.history) };
      this.store.save(ticket);
      this.record(ticket, 'ticket.created', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, severity: f.severity, findingAt: f.at }, out);
      return ticket;
    }

    const changed: string[] = [];
    let next: Ticket = { ...t, occurrences: t.occurrences + 1, lastSeenAt: Math.max(t.lastSeenAt, f.at), updatedAt: now, conditionCleared: false };
    if (t.status === 'resolved') {
      // The condition came back after the desk called it fixed: the same problem, so the same ticket.
      next = { ...next, status: 'reopened', outcome: null, resolvedAt: null, acknowledgedAt: null, slaBreached: [], ...slaOf(policy, higherPriority(t.priority, priority), now) };
      this.store.save(next);
      this.record(next, 'ticket.reopened', RULE_ENGINE, { from: 'resolved', to: 'reopened', note: `${f.ruleId} fired again after the ticket was resolved`, previousOutcome: t.outcome }, out);
    }
    if (f.severity === 'critical' && t.severity !== 'critical') {
      next.severity = 'critical';
      changed.push('severity');
    }
    const p = higherPriority(next.priority, priority);
    if (p !== next.priority) {
      const sla = slaOf(policy, p, now);
      next = { ...next, priority: p, respondBy: Math.min(next.respondBy, sla.respondBy), resolveBy: Math.min(next.resolveBy, sla.resolveBy) };
      changed.push('priority');
    }
    if (!next.rules.includes(f.ruleId)) next.rules = [...next.rules, f.ruleId];
    this.store.putFinding(t.id, f);
    next.evidence = buildEvidence(this.store.latestFindings(t.id), this.deps.history);
    this.store.save(next);
    this.record(next, 'ticket.updated', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, event: f.event, severity: f.severity, occurrences: next.occurrences, changed }, out);
    return next;
  }

  private record(t: Ticket, type: TicketEventType, actor: Actor, detail: Record<string, unknown>, out: [TicketEvent, Ticket][]): TicketEvent {
    const now = this.deps.clock.now();
    const ev = this.store.addEvent(t.id, type, now, actor, detail);
    // A repeat of a known problem is history, not news: the desk hears of it when something it acts
    // on changes (severity, priority, fault), so a flood of findings is not a flood of webhooks.
    const news = type !== 'ticket.updated' || (Array.isArray(detail.changed) && detail.changed.length > 0);
    if (news) {
      const payload: WebhookPayload = { id: idempotencyKey(ev.id), type, at: new Date(now).toISOString(), actor, detail, ticket: t };
      this.outbox.enqueue(ev, JSON.stringify(payload), now);
    }
    out.push([ev, t]);
    return ev;
  }

  private publish(out: [TicketEvent, Ticket][]): void {
    if (out.length === 0) return;
    for (const [ev, t] of out) {
      this.eventsTotal.inc({ type: ev.type });
      for (const l of this.listeners) {
        try {
          l(ev, t);
        } catch (err) {
          this.deps.log.error({ err }, 'ticket event listener failed');
        }
      }
    }
    this.webhooks.kick();
  }
}

function titleOf(what: string, deviceId: string, site: string | null): string {
  return `${what} on ${deviceId}${site ? ` at ${site}` : ''}`;
}
