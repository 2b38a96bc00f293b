import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import {
  type Acceptance,
  type Actor,
  type CustomerReport,
  type Fault,
  type KpiWebhookPayload,
  type FaultReportWebhookPayload,
  type Priority,
  type Severity,
  type Survey,
  TICKET_DEFAULTS,
  type Urgency,
  type Visit,
  type Equipment,
  type AuditLog,
  dedupeKeyOf,
  type Clock,
  Counter,
  type Sql,
  type SingleRunner,
  KeyedSerial,
  PostgresSql,
  retrying,
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
  isVibrationFault,
  transmittedFrom,
  type TicketEventType,
  type TimerHandle,
  type WebhookPayload,
} from '../core/index.ts';
import { type HistoryRows, buildEvidence } from './evidence.ts';
import { type Advice, AdviceSchema, KnowledgeStore } from './knowledge.ts';
import { CaseLibrary, type CaseProbe } from './cases.ts';
import { FaultCatalog, OwnFaultCodesSchema } from './fault-codes.ts';
import { FaultReportLog, faultReport } from './fault-report.ts';
import { ComplaintDesk } from './complaints/index.ts';
import { KpiAlerts, computeKpis } from './kpis.ts';
import { TRANSITIONS, awaitsResponse, step } from './lifecycle.ts';
import { type LinkPurpose, signLink } from './links.ts';
import { TicketPolicySchema, assetOf, dispatchGroupOf, escalate, higherPriority, priorityOf, slaOf } from './policy.ts';
import { type RuleStats, TicketStore } from './store.ts';
import { REPORT_EVENT_BASE, WebhookConfigSchema, WebhookDispatcher, idempotencyKey } from './webhooks/dispatcher.ts';
import { WebhookOutbox } from './webhooks/outbox.ts';
import { DestinationEntrySchema, TicketOutputs, destinationOf } from './destinations/index.ts';

export const TicketsConfigSchema = z
  .strictObject({
    policy: TicketPolicySchema,
    /** Replaces the shipped suggested action and likely parts for a fault. */
    knowledge: z.partialRecord(FaultSchema, AdviceSchema).default({}),
    /** Fault codes of your own beside the shipped ISO 14224 ones: `[{ code: X-IMP1, title: Impeller crack }]`. */
    faultCodes: OwnFaultCodesSchema,
    /** How often SLA deadlines (and unanswered return visits) are checked against the clock. */
    slaCheckEvery: DurationSchema.prefault('30s'),
    /** Signs the links of acceptance and survey pages sent to customers. */
    links: z
      .strictObject({
        ttl: DurationSchema.prefault('14d'),
        /** Where customers reach this server (`https://service.example.com`); links in webhook events are relative without it. */
        baseUrl: z.url({ protocol: /^https?$/ }).max(500).optional(),
      })
      .prefault({}),
    /** How every ticket output is delivered: attempts, backoff, timeout, concurrency. */
    webhooks: WebhookConfigSchema,
    /** Where ticket events go besides the API's webhook subscriptions: `[{ kind: email, name: desk-mail, … }]` (see `tickets/destinations/`). */
    destinations: z.array(DestinationEntrySchema).default([]),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.destinations.forEach((d, i) => {
      if (names.has(d.name)) ctx.addIssue({ code: 'custom', path: ['destinations', i, 'name'], message: `a second destination named ${d.name}` });
      names.add(d.name);
      for (const issue of destinationOf(d.kind)?.check?.(d as never) ?? []) ctx.addIssue({ code: 'custom', path: ['destinations', i, issue.path], message: issue.message });
    });
  })
  .prefault({});
export type TicketsConfig = z.infer<typeof TicketsConfigSchema>;

export const RULE_ENGINE: Actor = { name: 'rule-engine', role: 'system' };
export const SLA_CLOCK: Actor = { name: 'sla-clock', role: 'system' };


type Opt<T> = T | undefined;
export type ActionInput =
  | { action: 'acknowledge' | 'start' | 'close' | 'reopen'; note?: Opt<string>; externalRef?: Opt<string> }
  | { action: 'assign'; assignee: string; note?: Opt<string>; externalRef?: Opt<string> }
  | { action: 'comment'; note: string; externalRef?: Opt<string> }
  | { action: 'resolve'; outcome: Outcome; note: string; externalRef?: Opt<string>; resolution?: Opt<ResolutionInput> }
  | { action: 'review'; site: string; deviceId?: Opt<string>; fault?: Opt<Fault>; urgency?: Opt<Urgency>; note?: Opt<string>; externalRef?: Opt<string> }
  | { action: 'accept'; by: string; via?: Opt<Acceptance['via']>; note?: Opt<string>; externalRef?: Opt<string> }
  | { action: 'survey'; score: number; nps?: Opt<number>; comment?: Opt<string>; via?: Opt<Survey['via']>; externalRef?: Opt<string> };

export type ActResult = { ok: true; ticket: Ticket; event: TicketEvent } | { ok: false; status: 400 | 404 | 409; error: string; message: string };

/** The structured half of a resolution, as the desk gives it (each part optional). */
export interface ResolutionInput {
  faultCode?: Opt<string>;
  component?: Opt<string>;
  action?: Opt<string>;
  partsUsed?: Opt<Visit['partsUsed']>;
  minutesOnSite?: Opt<number>;
}

/** A customer's report as the desk takes it down. */
export interface ReportInput {
  channel: CustomerReport['channel'];
  contact: CustomerReport['contact'];
  site?: Opt<string>;
  deviceId?: Opt<string>;
  /** The desk's first diagnosis, when it has one; `unspecified` otherwise. */
  fault?: Opt<Fault>;
  symptom: string;
  urgency: Urgency;
}
export type ReportResult = { ok: true; ticket: Ticket; event: TicketEvent; joined: boolean } | { ok: false; status: 400; error: string; message: string };

export interface VisitInput {
  plannedAt?: Opt<number>;
  technician?: Opt<string>;
  arrivedAt?: Opt<number>;
  leftAt?: Opt<number>;
  workDone?: Opt<string>;
  partsUsed?: Opt<Visit['partsUsed']>;
  result?: Opt<Visit['result']>;
}

/** What the server knows of devices and sites, to tie a customer's report to them. */
export interface DeviceLookup {
  siteOf(deviceId: string): Promise<string | undefined> | string | undefined;
  knownSite(site: string): Promise<boolean> | boolean;
}

/** Findings already stored by the rule engine, oldest first after an id: the catch-up after a restart. */
export interface FindingSource {
  since(afterId: number, limit: number): Promise<(Finding & { id: number })[]> | (Finding & { id: number })[];
}

export interface TicketDeps {
  sql: Sql;
  /** Who runs the SLA clock when several servers share the store (default: this one, always). */
  slaRunner?: SingleRunner | undefined;
  clock: Clock;
  log: Logger;
  registry: Registry;
  history?: HistoryRows | undefined;
  findings?: FindingSource | undefined;
  /** Seals webhook secrets at rest. */
  secrets?: SecretBox | undefined;
  devices?: DeviceLookup | undefined;
  /** Signs customer links; without it no links are made. */
  linkKey?: Buffer | undefined;
  /** Where operators' edits of the knowledge base are recorded beside their versions. */
  audit?: AuditLog | undefined;
  /** A device's model, firmware and installation date (the ruleset's device entries), or null. */
  equipment?: ((deviceId: string, site: string | null) => Equipment | null) | undefined;
}

/**
 * Turns findings into tickets and carries them through their lifecycle. Lifecycle: start() catches up
 * on findings stored while it was not running, starts the SLA clock and webhook delivery; stop() ends
 * both. Every change is one transaction of the store holding the ticket, its history entry and its
 * deliveries, so they are never out of step; on a store shared by several servers a change made from a
 * stale read is refused by the ticket's version and made again from a fresh one.
 */
export class TicketManager implements Service {
  readonly name = 'tickets';
  readonly store: TicketStore;
  readonly outbox: WebhookOutbox;
  readonly webhooks: WebhookDispatcher;
  readonly outputs: TicketOutputs;
  private readonly listeners: ((ev: TicketEvent, t: Ticket) => void)[] = [];
  private timer: TimerHandle | undefined;
  private stopped = true;
  private readonly eventsTotal: Counter<'type'>;
  private readonly kpiBelowTarget: Counter<'kpi'>;
  readonly kpiAlerts: KpiAlerts;
  readonly complaints: ComplaintDesk;
  readonly cases: CaseLibrary;
  readonly knowledge: KnowledgeStore;
  readonly catalog: FaultCatalog;
  private readonly reports: FaultReportLog;
  /** Findings of one device are applied one after another, in the order the rules raised them. */
  private readonly byDevice = new KeyedSerial();
  private slaRound: Promise<void> = Promise.resolve();
  /** This manager's name on the live-event channel, so it does not hear its own events twice. */
  private readonly origin = randomUUID();
  private unlisten: (() => Promise<void>) | undefined;
  /** Other servers' events, announced in commit order, are read and passed on in that order. */
  private remote: Promise<void> = Promise.resolve();

  /** Opens the ticket tables (migrating them) and builds the manager on them. */
  static async open(config: TicketsConfig, deps: TicketDeps): Promise<TicketManager> {
    const store = await TicketStore.open(deps.sql, (t) => {
      const a = assetOf(config.policy, t.deviceId ?? '', t.site);
      return { region: a.region, customer: a.customer, equipment: a.equipment };
    });
    const outbox = await WebhookOutbox.open(deps.sql, deps.secrets);
    const resealed = await outbox.reseal();
    if (resealed > 0) deps.log.info({ subscriptions: resealed }, 'webhook secrets sealed with the current key');
    const kpiAlerts = await KpiAlerts.open(deps.sql);
    const complaints = await ComplaintDesk.open(deps.sql, () => config.policy, store, deps.clock);
    const catalog = new FaultCatalog(config.faultCodes);
    const cases = await CaseLibrary.open(deps.sql, catalog);
    const filed = await cases.backfill(store.unfiled(), async (id) => {
      const resolved = (await store.history(id)).filter((e) => e.type === 'ticket.resolved').at(-1);
      return typeof resolved?.detail.note === 'string' ? resolved.detail.note : null;
    });
    if (filed > 0) deps.log.info({ cases: filed }, 'resolved tickets filed in the case library');
    const knowledge = await KnowledgeStore.open(deps.sql, config.knowledge);
    const reports = await FaultReportLog.open(deps.sql);
    return new TicketManager(config, deps, { store, outbox, kpiAlerts, complaints, cases, knowledge, catalog, reports });
  }

  private constructor(
    private readonly config: TicketsConfig,
    private readonly deps: TicketDeps,
    parts: { store: TicketStore; outbox: WebhookOutbox; kpiAlerts: KpiAlerts; complaints: ComplaintDesk; cases: CaseLibrary; knowledge: KnowledgeStore; catalog: FaultCatalog; reports: FaultReportLog },
  ) {
    this.reports = parts.reports;
    this.cases = parts.cases;
    this.knowledge = parts.knowledge;
    this.catalog = parts.catalog;
    this.store = parts.store;
    this.outbox = parts.outbox;
    this.kpiAlerts = parts.kpiAlerts;
    this.complaints = parts.complaints;
    this.outputs = new TicketOutputs(config.destinations, { outbox: this.outbox, clock: deps.clock, log: deps.log.child({ component: 'destinations' }), baseUrl: config.links.baseUrl, timeoutMs: config.webhooks.timeout });
    this.webhooks = new WebhookDispatcher(config.webhooks, { outbox: this.outbox, clock: deps.clock, log: deps.log.child({ component: 'deliveries' }), registry: deps.registry, route: this.outputs.route });
    const registers = [deps.registry];
    this.eventsTotal = new Counter({ name: 'vigil_ticket_events_total', help: 'Ticket events by type', labelNames: ['type'], registers });
    this.kpiBelowTarget = new Counter({ name: 'vigil_kpi_below_target_total', help: 'kpi.below_target events raised, by figure', labelNames: ['kpi'], registers });
    const store = this.store;
    new Gauge({
      name: 'vigil_tickets',
      help: 'Tickets by status',
      labelNames: ['status'],
      registers,
      // Read from the shared store: every worker reads the same figure, so /metrics shows it once.
      aggregator: 'max',
      async collect() {
        const rows = await store.countByStatus();
        // A status with no tickets left must read 0, not its last count.
        this.reset();
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
    const policy = config.policy;
    const clock = deps.clock;
    new Gauge({
      name: 'vigil_kpi',
      help: 'The desk\'s KPIs per site over the current calendar month (UTC): response_minutes (mean), first_time_fix, resolution, satisfaction (ratios), nps, predicted_share',
      labelNames: ['site', 'kpi'],
      registers,
      aggregator: 'max',
      async collect() {
        const now = clock.now();
        const d = new Date(now);
        const rows = await computeKpis(store.sql, { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), to: now + 1, groupBy: 'site', interval: 'month', asOf: now }, policy.targets);
        this.reset();
        for (const r of rows) {
          const figures: [string, number | null][] = [
            ['response_minutes', r.response.meanMinutes],
            ['first_time_fix', r.firstTimeFix.rate],
            ['resolution', r.resolution.rate],
            ['satisfaction', r.satisfaction.rate],
            ['nps', r.nps.score],
            ['predicted_share', r.predictedShare],
          ];
          for (const [kpi, v] of figures) if (v !== null) this.set({ site: r.group, kpi }, v);
        }
      },
    });
    const target = new Gauge({ name: 'vigil_kpi_target', help: 'The policy\'s target for each KPI (response_minutes is a ceiling, the ratios floors)', labelNames: ['kpi'], registers, aggregator: 'max' });
    target.set({ kpi: 'response_minutes' }, policy.targets.responseMinutes);
    target.set({ kpi: 'first_time_fix' }, policy.targets.firstTimeFix);
    target.set({ kpi: 'resolution' }, policy.targets.resolution);
    target.set({ kpi: 'satisfaction' }, policy.targets.satisfaction);
  }

  /** Every ticket event, after it is committed: the live stream. */
  onEvent(listener: (ev: TicketEvent, t: Ticket) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    const sql = this.deps.sql;
    // On a shared store, changes made through other servers reach this one's live stream too.
    if (sql instanceof PostgresSql) this.unlisten = await sql.listen(LIVE_CHANNEL, (payload) => this.fromElsewhere(payload));
    const caught = await this.catchUp();
    if (caught > 0) this.deps.log.info({ findings: caught }, 'tickets caught up on findings stored while stopped');
    await this.slaTick();
    this.scheduleSla();
    await this.webhooks.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    await this.byDevice.idle();
    await this.unlisten?.();
    this.unlisten = undefined;
    await this.remote;
    await this.webhooks.stop();
    await this.deps.slaRunner?.release();
    this.outputs.close();
  }

  /**
   * Applies one finding (fire, escalate or resolve); `findingId` advances the catch-up cursor. A
   * device's findings apply in the order they are given, whatever the store's latency.
   */
  handleFinding(f: Finding, findingId?: number): Promise<Ticket | undefined> {
    return this.byDevice.run(transmittedFrom(f) ?? f.deviceId, async () => {
      const out: [TicketEvent, Ticket][] = [];
      const t = await retrying(this.deps.sql, async () => {
        out.length = 0;
        const r = await this.apply(f, out);
        if (findingId !== undefined) await this.store.setCursor(findingId);
        return r;
      });
      this.publish(out);
      return t;
    });
  }

  /** Every finding given so far has been applied and the SLA clock's round (if one runs) is done. */
  async settled(): Promise<void> {
    await this.slaRound;
    await this.byDevice.idle();
  }

  /** A person (or the desk's system) acts on a ticket. Refused with 400, 404 or 409 without changing anything. */
  /** `sites`: the caller's scope, which a review may not leave. */
  /** `version`: the ticket's version the action was decided on; a ticket changed since is refused with 409. */
  async act(id: number, input: ActionInput, actor: Actor, sites?: ReadonlySet<string>, version?: number): Promise<ActResult> {
    const out: [TicketEvent, Ticket][] = [];
    const r = await retrying(this.deps.sql, async (): Promise<ActResult> => {
      out.length = 0;
      const t = await this.store.get(id, { forUpdate: true });
      if (!t) return { ok: false, status: 404, error: 'not_found', message: `no ticket ${id}` };
      if (version !== undefined && version !== t.version) return stale(t, version);
      const s = step(t.status, input.action);
      if (!s.ok) return { ok: false, status: 409, error: 'conflict', message: s.message };
      const now = this.deps.clock.now();
      const { policy } = this.config;
      const tier = assetOf(policy, t.deviceId ?? '', t.site).tier;
      let next: Ticket = { ...t, status: s.status, updatedAt: now, ...(input.externalRef ? { externalRef: input.externalRef } : {}) };
      const detail: Record<string, unknown> = { from: t.status, to: s.status };
      if ('note' in input && input.note) detail.note = input.note;
      switch (input.action) {
        case 'review': {
          const r = await this.placeReport(input.site, input.deviceId ?? t.deviceId ?? undefined, sites);
          if (!r.ok) return { ok: false, status: 400, error: 'bad_request', message: r.message };
          if (!r.site) return { ok: false, status: 400, error: 'bad_request', message: `site: ${input.site} is not a site this server knows (the ticket policy's sites, or one a device reports from)` };
          const fault = input.fault ?? t.fault;
          const urgency = input.urgency ?? t.reports[0]?.urgency ?? 'normal';
          const key = r.deviceId ? dedupeKeyOf(r.deviceId, fault) : t.dedupeKey;
          const other = key !== t.dedupeKey ? await this.store.byKey(key) : undefined;
          if (other) return { ok: false, status: 409, error: 'conflict', message: `ticket ${other.id} is already open for ${key}; add the report there and close this one` };
          const asset = assetOf(policy, r.deviceId ?? '', r.site);
          const priority = priorityOf(policy, severityOf(urgency), fault, asset);
          const equipment = r.deviceId ? this.equipmentOf(r.deviceId, r.site) : null;
          const advice = await this.advise(fault, { ticketId: t.id, deviceId: r.deviceId ?? null, model: equipment?.model, site: r.site });
          // The response clock runs from the customer's call, not from the review.
          next = { ...next, site: r.site, deviceId: r.deviceId ?? null, equipment, fault, dedupeKey: key, priority, dispatchGroup: dispatchGroupOf(policy, asset), title: titleOf(advice.title, r.deviceId ?? null, r.site), suggestedAction: advice.action, likelyParts: advice.parts, ...slaOf(policy, priority, t.createdAt) };
          Object.assign(detail, { site: r.site, deviceId: r.deviceId ?? null, fault, priority });
          break;
        }
        case 'acknowledge':
        case 'start':
          next.acknowledgedAt = t.acknowledgedAt ?? now;
          break;
        case 'assign':
          next.assignee = input.assignee;
          detail.assignee = input.assignee;
          break;
        case 'resolve': {
          const res = this.resolution(input.resolution);
          if (!res.ok) return { ok: false, status: 400, error: 'bad_request', message: res.message };
          next.resolution = res.resolution;
          if (res.resolution) detail.resolution = res.resolution;
          next.outcome = input.outcome;
          next.resolvedAt = now;
          detail.outcome = input.outcome;
          // Decided at the first resolution; a reopen inside the window takes it back.
          if (t.firstTimeFix === null && t.visits.length > 0) next.firstTimeFix = t.visits[0]!.result === 'fixed';
          if (next.firstTimeFix !== null) next.firstFixUntil = now + policy.service.firstFix.window;
          const link = this.link(next, policy.service.acceptance[tier] ? 'accept' : 'survey', now);
          if (link) detail.link = link;
          break;
        }
        case 'accept':
          next.acceptance = { at: now, by: input.by, via: input.via ?? 'technician' };
          detail.acceptedBy = input.by;
          {
            const link = this.link(next, 'survey', now);
            if (link) detail.link = link;
          }
          break;
        case 'survey':
          if (t.status === 'resolved' && policy.service.acceptance[tier]) return { ok: false, status: 409, error: 'conflict', message: `a ${tier} customer accepts the fix before the return visit (accept first)` };
          next.survey = { at: now, score: input.score, nps: input.nps ?? null, comment: input.comment ?? null, via: input.via ?? 'api' };
          next.closedAt = now;
          next.closeReason = 'answered';
          Object.assign(detail, { score: input.score, nps: input.nps ?? null, satisfied: input.score >= 4 });
          break;
        case 'close':
          if (t.status === 'resolved' && policy.service.acceptance[tier]) return { ok: false, status: 409, error: 'conflict', message: `a ${tier} customer accepts the fix before the ticket closes (accept, then the return visit closes it)` };
          if (t.status !== 'new' && policy.service.returnVisit.required[tier]) return { ok: false, status: 409, error: 'conflict', message: `a ${tier} customer gets a return visit: the survey answer closes the ticket, or no answer within ${policy.service.returnVisit.closeAfter / 86_400_000} days` };
          next.closedAt = now;
          next.closeReason = 'desk';
          break;
        case 'reopen': {
          const other = t.deviceId !== null ? await this.store.byKey(t.dedupeKey) : undefined;
          if (other && other.id !== t.id) return { ok: false, status: 409, error: 'conflict', message: `ticket ${other.id} is already open for ${t.dedupeKey}; work on that one` };
          next = reopened(next, now, slaOf(policy, t.priority, now));
          await this.cases.notHeld(t.id);
          break;
        }
        case 'comment':
          break;
      }
      if (input.externalRef) detail.externalRef = input.externalRef;
      await this.store.save(next);
      // Every resolution is a case later tickets learn from, written with it or not at all.
      if (input.action === 'resolve') await this.cases.put(next, input.note);
      const event = await this.record(next, TRANSITIONS[input.action].event, actor, detail, out);
      return { ok: true, ticket: next, event };
    });
    this.publish(out);
    return r;
  }

  /**
   * A customer's report. It joins the device's open ticket for the same problem (any open ticket of the
   * device when the desk gives no fault), reopens a resolved one, or opens a `reported` ticket; one
   * that names no known site waits in `new` for the desk's review.
   */
  async report(input: ReportInput, actor: Actor, sites?: ReadonlySet<string>): Promise<ReportResult> {
    const out: [TicketEvent, Ticket][] = [];
    const r = await retrying(this.deps.sql, async (): Promise<ReportResult> => {
      out.length = 0;
      const placed = await this.placeReport(input.site, input.deviceId, sites);
      if (!placed.ok) return { ok: false, status: 400, error: 'bad_request', message: placed.message };
      const now = this.deps.clock.now();
      const { policy } = this.config;
      const rep: CustomerReport = { at: now, channel: input.channel, contact: input.contact, symptom: input.symptom, urgency: input.urgency, recordedBy: actor.name };
      const deviceId = placed.deviceId ?? null;
      const fault = input.fault ?? 'unspecified';
      const asset = assetOf(policy, deviceId ?? '', placed.site ?? null);
      const priority = priorityOf(policy, severityOf(input.urgency), fault, asset);
      if (deviceId !== null) {
        const active = await this.store.activeOfDevice(deviceId);
        const same = active.find((t) => t.fault === fault) ?? (fault === 'unspecified' ? [...active].sort(byUrgency)[0] : undefined);
        if (same) {
          let next: Ticket = { ...same, reports: [...same.reports, rep], customerNoticed: same.customerNoticed || same.source === 'predicted', updatedAt: now };
          const detail: Record<string, unknown> = { channel: rep.channel, urgency: rep.urgency, symptom: rep.symptom };
          if (same.status === 'resolved' || same.status === 'accepted') {
            next = reopened(next, now, slaOf(policy, higherPriority(same.priority, priority), now));
            await this.cases.notHeld(same.id);
            Object.assign(detail, { from: same.status, to: 'reopened', note: 'the customer reports the problem again after it was resolved' });
            await this.store.save(next);
            await this.record(next, 'ticket.reopened', actor, detail, out);
          }
          const p = higherPriority(next.priority, priority);
          if (p !== next.priority) {
            const sla = slaOf(policy, p, now);
            next = { ...next, priority: p, respondBy: Math.min(next.respondBy, sla.respondBy), resolveBy: Math.min(next.resolveBy, sla.resolveBy) };
            detail.priority = { from: same.priority, to: p };
          }
          await this.store.save(next);
          const event = await this.record(next, 'ticket.reported', actor, detail, out);
          return { ok: true, ticket: next, event, joined: true };
        }
      }
      const equipment = deviceId !== null ? this.equipmentOf(deviceId, placed.site ?? null) : null;
      const advice = await this.advise(fault, { deviceId, model: equipment?.model, site: placed.site ?? null });
      const known = placed.site !== undefined;
      const created = await this.store.create({
        dedupeKey: deviceId !== null ? dedupeKeyOf(deviceId, fault) : `report:${randomUUID()}`,
        site: placed.site ?? input.site ?? null,
        deviceId,
        fault,
        title: titleOf(advice.title, deviceId, placed.site ?? input.site ?? null),
        status: known ? 'open' : 'new',
        priority,
        severity: severityOf(input.urgency),
        dispatchGroup: dispatchGroupOf(policy, asset),
        rules: [],
        createdAt: now,
        updatedAt: now,
        firstSeenAt: now,
        lastSeenAt: now,
        ...opening(slaOf(policy, priority, now), advice),
        equipment,
        source: 'reported',
        reports: [rep],
      });
      await this.loseFirstFix(created, out);
      const event = await this.record(created, 'ticket.created', actor, { source: 'reported', channel: rep.channel, urgency: rep.urgency, symptom: rep.symptom, ...(known ? {} : { note: 'no known site: awaiting review' }) }, out);
      return { ok: true, ticket: created, event, joined: false };
    });
    this.publish(out);
    return r;
  }

  /** Plans a technician's visit (`n` absent) or records what happened on visit `n`. */
  async visit(id: number, n: number | undefined, input: VisitInput, actor: Actor): Promise<ActResult> {
    const out: [TicketEvent, Ticket][] = [];
    const r = await retrying(this.deps.sql, async (): Promise<ActResult> => {
      out.length = 0;
      const t = await this.store.get(id, { forUpdate: true });
      if (!t) return { ok: false, status: 404, error: 'not_found', message: `no ticket ${id}` };
      const s = step(t.status, 'visit');
      if (!s.ok) return { ok: false, status: 409, error: 'conflict', message: s.message };
      const now = this.deps.clock.now();
      let visit: Visit;
      if (n === undefined) {
        if (input.plannedAt === undefined || input.technician === undefined) return { ok: false, status: 400, error: 'bad_request', message: 'body: a new visit needs plannedAt and technician' };
        visit = { n: t.visits.length + 1, plannedAt: input.plannedAt, technician: input.technician, arrivedAt: null, leftAt: null, workDone: null, partsUsed: [], result: null };
      } else {
        const old = t.visits.find((v) => v.n === n);
        if (!old) return { ok: false, status: 404, error: 'not_found', message: `ticket ${id} has no visit ${n}` };
        if (old.result !== null) return { ok: false, status: 409, error: 'conflict', message: `visit ${n} already has its result (${old.result}); record another visit` };
        visit = { ...old };
      }
      for (const k of ['plannedAt', 'technician', 'arrivedAt', 'leftAt', 'workDone', 'partsUsed', 'result'] as const) {
        if (input[k] !== undefined) (visit as Record<string, unknown>)[k] = input[k];
      }
      if (visit.leftAt !== null && visit.arrivedAt === null) return { ok: false, status: 400, error: 'bad_request', message: 'body.leftAt: a visit cannot end before it has arrived (give arrivedAt)' };
      if (visit.leftAt !== null && visit.arrivedAt !== null && visit.leftAt < visit.arrivedAt) return { ok: false, status: 400, error: 'bad_request', message: 'body.leftAt: before arrivedAt' };
      const visits = n === undefined ? [...t.visits, visit] : t.visits.map((v) => (v.n === n ? visit : v));
      const next: Ticket = { ...t, visits, updatedAt: now };
      await this.store.save(next);
      const event = await this.record(next, n === undefined ? 'ticket.visit_planned' : 'ticket.visit_updated', actor, { visit }, out);
      return { ok: true, ticket: next, event };
    });
    this.publish(out);
    return r;
  }

  /** A customer's signed link for this ticket, or undefined when the server signs none. */
  link(t: Ticket, purpose: LinkPurpose, now: number): { purpose: LinkPurpose; url: string; expiresAt: number } | undefined {
    if (!this.deps.linkKey) return undefined;
    const expiresAt = now + this.config.links.ttl;
    const path = `/survey/${signLink(this.deps.linkKey, { ticketId: t.id, purpose, expiresAt })}`;
    return { purpose, url: `${(this.config.links.baseUrl ?? '').replace(/\/$/, '')}${path}`, expiresAt };
  }

  /** Closes tickets whose return visit got no answer within `returnVisit.closeAfter`. */
  async closeUnanswered(): Promise<number> {
    const now = this.deps.clock.now();
    const out: [TicketEvent, Ticket][] = [];
    const after = this.config.policy.service.returnVisit.closeAfter;
    const n = await retrying(this.deps.sql, async () => {
      out.length = 0;
      let n = 0;
      for (const t of await this.store.awaitingAnswer(now - after)) {
        const next: Ticket = { ...t, status: 'closed', closedAt: now, closeReason: 'no_response', updatedAt: now };
        await this.store.save(next);
        await this.record(next, 'ticket.closed', SLA_CLOCK, { from: t.status, to: 'closed', closeReason: 'no_response', note: `no answer to the return visit within ${after / 86_400_000} days` }, out);
        n++;
      }
      return n;
    });
    this.publish(out);
    return n;
  }

  /** Where a report belongs: its device must be known, and agree with the site when both are given. */
  /**
   * `sites` is the caller's scope: a device elsewhere is unknown to it, so the answer never says where
   * another site's device is.
   */
  private async placeReport(site: string | undefined, deviceId: string | undefined, sites: ReadonlySet<string> | undefined): Promise<{ ok: true; site: string | undefined; deviceId: string | undefined } | { ok: false; message: string }> {
    const lookup = this.deps.devices;
    if (deviceId !== undefined) {
      const at = await lookup?.siteOf(deviceId);
      if (at === undefined || (sites && !sites.has(at))) return { ok: false, message: `deviceId: ${deviceId} is not a device this server knows (it has sent no readings)` };
      if (site !== undefined && site !== at) return { ok: false, message: `deviceId: ${deviceId} is at site ${at}, not ${site}` };
      return { ok: true, site: at, deviceId };
    }
    const known = site !== undefined && (site in this.config.policy.sites || ((await lookup?.knownSite(site)) ?? false));
    return { ok: true, site: known ? site : undefined, deviceId: undefined };
  }

  /** A new ticket for a device and problem whose last fix was inside its window: that fix did not hold. */
  private async loseFirstFix(t: Ticket, out: [TicketEvent, Ticket][]): Promise<void> {
    if (t.deviceId === null) return;
    const prev = await this.store.previousOfKey(t.deviceId, t.dedupeKey, t.id);
    if (!prev || prev.firstTimeFix !== true || prev.firstFixUntil === null || t.createdAt > prev.firstFixUntil) return;
    const next: Ticket = { ...prev, firstTimeFix: false, updatedAt: t.createdAt };
    await this.store.save(next);
    await this.record(next, 'ticket.updated', RULE_ENGINE, { changed: ['firstTimeFix'], note: `ticket ${t.id} opened for the same problem within the first-fix window` }, out);
  }

  /** Marks tickets past a deadline as breached, once per deadline, and escalates their priority. */
  async checkSla(): Promise<number> {
    const now = this.deps.clock.now();
    const out: [TicketEvent, Ticket][] = [];
    const n = await retrying(this.deps.sql, async () => {
      out.length = 0;
      let n = 0;
      for (const t of await this.store.overdue(now)) {
        const kinds = (['response', 'resolution'] as const).filter(
          (k) => !t.slaBreached.includes(k) && (k === 'response' ? awaitsResponse(t.status) && t.respondBy <= now : t.resolveBy <= now),
        );
        let cur = t;
        for (const kind of kinds) {
          const to = escalate(cur.priority);
          cur = { ...cur, slaBreached: [...cur.slaBreached, kind], priority: to, updatedAt: now };
          await this.store.save(cur);
          await this.record(cur, 'ticket.sla_breached', SLA_CLOCK, { sla: kind, deadline: kind === 'response' ? t.respondBy : t.resolveBy, escalation: { from: t.priority, to } }, out);
          n++;
        }
      }
      return n;
    });
    this.publish(out);
    const closed = await this.closeUnanswered();
    await this.checkKpis();
    await this.sendFaultReport();
    return n + closed;
  }

  /**
   * Once per month, after it ends: `report.faults`, last month's engineering report per model, to every
   * subscription and destination that names the event. Claimed in the store, so it goes out once
   * whichever server's clock gets there first. A month without tickets sends nothing.
   */
  async sendFaultReport(): Promise<boolean> {
    const now = this.deps.clock.now();
    const d = new Date(now);
    const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
    const period = new Date(from).toISOString().slice(0, 7);
    const sent = await this.deps.sql.tx(async () => {
      const id = await this.reports.claim(period, now);
      if (id === undefined) return false;
      const rows = await faultReport(this.store.iterate(from, to), { groupBy: 'model', firstReading: (x) => this.firstReading(x), previousFault: (x, before) => this.store.lastConfirmedBefore(x, before), catalog: this.catalog });
      if (rows.length === 0) return false;
      // Negative ids beyond the KPI events' keep the outbox's event ids apart from tickets' and KPIs'.
      const eventId = -(REPORT_EVENT_BASE + id);
      const payload: FaultReportWebhookPayload = { id: idempotencyKey(eventId), type: 'report.faults', at: new Date(now).toISOString(), detail: { period, from, to, groupBy: 'model', rows } };
      await this.outputs.enqueue({ id: eventId, type: 'report.faults', ticketId: 0 }, payload, now);
      this.deps.log.info({ period, groups: rows.length }, 'monthly fault report queued');
      return true;
    });
    if (sent) this.webhooks.kick();
    return sent;
  }

  /**
   * Raises `kpi.below_target` once per month, figure and site or dispatch group whose figure for the
   * month so far is below its target, counting at least `targets.minTickets` tickets (so the first
   * ticket of a month cannot raise it alone). Returns how many were raised.
   */
  async checkKpis(): Promise<number> {
    const now = this.deps.clock.now();
    const { targets } = this.config.policy;
    const d = new Date(now);
    const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    let raised = 0;
    await this.deps.sql.tx(async () => {
      for (const groupBy of ['site', 'group'] as const) {
        for (const r of await computeKpis(this.deps.sql, { from, to: now + 1, groupBy, interval: 'month', asOf: now }, targets)) {
          const figures = {
            response: [r.response.meanMinutes, targets.responseMinutes, r.response.responded],
            firstTimeFix: [r.firstTimeFix.rate, targets.firstTimeFix, r.firstTimeFix.judged],
            resolution: [r.resolution.rate, targets.resolution, r.resolution.due],
            satisfaction: [r.satisfaction.rate, targets.satisfaction, r.satisfaction.answered],
          } as const;
          for (const kpi of r.belowTarget as (keyof typeof figures)[]) {
            const [value, target, tickets] = figures[kpi];
            if (value === null || tickets < targets.minTickets) continue;
            const id = await this.kpiAlerts.raise(groupBy, r.group, r.period, kpi, value, target, now);
            if (id === undefined) continue;
            const payload: KpiWebhookPayload = { id: idempotencyKey(-id), type: 'kpi.below_target', at: new Date(now).toISOString(), detail: { groupBy, group: r.group, period: r.period, kpi, value, target, tickets } };
            await this.outputs.enqueue({ id: -id, type: 'kpi.below_target', ticketId: 0 }, payload, now);
            this.kpiBelowTarget.inc({ kpi });
            this.deps.log.warn(payload.detail, 'a KPI is below its target this month');
            raised++;
          }
        }
      }
    });
    if (raised > 0) this.webhooks.kick();
    return raised;
  }

  get audit(): AuditLog | undefined {
    return this.deps.audit;
  }

  /** Where a device's time to first failure counts from without an installation date: its oldest reading held. */
  firstReading(deviceId: string): Promise<number | undefined> {
    return this.deps.history?.firstMinute?.(deviceId) ?? Promise.resolve(undefined);
  }

  get policy(): TicketsConfig['policy'] {
    return this.config.policy;
  }

  stats(): Promise<RuleStats[]> {
    return this.store.ruleStats();
  }

  private async catchUp(): Promise<number> {
    const source = this.deps.findings;
    if (!source) return 0;
    let n = 0;
    for (;;) {
      const batch = await source.since(await this.store.cursor(), 500);
      if (batch.length === 0) return n;
      for (const f of batch) {
        const { id, ...finding } = f;
        await this.handleFinding(finding, id);
        n++;
      }
    }
  }

  /**
   * The SLA clock's round, run by one server at a time when several share the store: the one that
   * holds the runner's lock (taken over when its holder dies).
   */
  private async slaTick(): Promise<void> {
    try {
      if (this.deps.slaRunner && !(await this.deps.slaRunner.acquire())) return;
      await this.checkSla();
    } catch (err) {
      this.deps.log.error({ err }, 'SLA check failed');
    }
  }

  private scheduleSla(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.slaRound = this.slaTick().finally(() => this.scheduleSla());
    }, this.config.slaCheckEvery);
  }

  /** The open ticket a finding belongs to, refining a symptom ticket into a diagnosis where one arrives. */
  private async ticketFor(f: Finding, out: [TicketEvent, Ticket][]): Promise<Ticket | undefined> {
    const own = await this.store.byKey(f.dedupeKey);
    if (own) return own;
    // Vibration felt from a neighbour belongs on the source's open vibration problem, whatever its fault.
    const source = transmittedFrom(f);
    if (source !== undefined) return (await this.store.activeOfDevice(source)).find((t) => isVibrationFault(t.fault));
    const active = await this.store.activeOfDevice(f.deviceId);
    if (f.fault === 'vibration') return active.find((t) => VIBRATION_DIAGNOSES.includes(t.fault));
    // Only a diagnosis that fires refines; one that ends says nothing about the symptom's ticket.
    if (!VIBRATION_DIAGNOSES.includes(f.fault) || f.event === 'resolve') return undefined;
    const symptom = active.find((t) => t.fault === 'vibration');
    if (!symptom) return undefined;
    const advice = await this.advise(f.fault, { ticketId: symptom.id, deviceId: symptom.deviceId, model: symptom.equipment?.model, metrics: [f.metric], site: symptom.site });
    const refined: Ticket = {
      ...symptom,
      fault: f.fault,
      dedupeKey: f.dedupeKey,
      title: titleOf(advice.title, symptom.deviceId, symptom.site),
      suggestedAction: advice.action,
      likelyParts: advice.parts,
      updatedAt: this.deps.clock.now(),
    };
    // Saved by apply(), which goes on to change it: one write of the row per finding.
    await this.record(refined, 'ticket.updated', RULE_ENGINE, { changed: ['fault'], fault: { from: symptom.fault, to: f.fault }, ruleId: f.ruleId }, out);
    return refined;
  }

  private async apply(f: Finding, out: [TicketEvent, Ticket][]): Promise<Ticket | undefined> {
    const now = this.deps.clock.now();
    const t = await this.ticketFor(f, out);
    const { policy } = this.config;
    if (f.event === 'resolve') {
      if (!t) return undefined;
      await this.store.putFinding(t.id, f);
      const latest = await this.store.latestFindings(t.id);
      const cleared = latest.every((x) => x.event === 'resolve');
      const next: Ticket = { ...t, conditionCleared: cleared, updatedAt: now, evidence: await buildEvidence(latest, this.deps.history) };
      await this.store.save(next);
      const note = `${f.ruleId} on ${f.metric} cleared at ${new Date(f.at).toISOString()}; ${cleared ? 'no rule on this ticket is firing now' : 'other rules on this ticket still fire'}`;
      await this.record(next, 'ticket.finding_resolved', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, note, conditionCleared: cleared }, out);
      return next;
    }

    // Transmitted vibration is evidence, never a problem of its own: with the source's ticket gone, it is kept only as a finding.
    if (!t && transmittedFrom(f) !== undefined) return undefined;
    const asset = assetOf(policy, f.deviceId, f.site ?? null);
    const priority = priorityOf(policy, f.severity, t?.fault ?? f.fault, asset);
    if (!t) {
      const equipment = this.equipmentOf(f.deviceId, f.site ?? null);
      const advice = await this.advise(f.fault, { deviceId: f.deviceId, model: equipment?.model, metrics: [f.metric], site: f.site ?? null });
      const ticket = await this.store.create({
        dedupeKey: f.dedupeKey,
        site: f.site ?? null,
        deviceId: f.deviceId,
        fault: f.fault,
        title: titleOf(advice.title, f.deviceId, f.site ?? null),
        status: 'open',
        priority,
        severity: f.severity,
        dispatchGroup: dispatchGroupOf(policy, asset),
        rules: [f.ruleId],
        createdAt: now,
        updatedAt: now,
        firstSeenAt: f.at,
        lastSeenAt: f.at,
        ...opening(slaOf(policy, priority, now), advice),
        equipment,
        evidence: await buildEvidence([f], this.deps.history),
      });
      await this.store.putFinding(ticket.id, f);
      await this.loseFirstFix(ticket, out);
      await this.record(ticket, 'ticket.created', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, severity: f.severity, findingAt: f.at }, out);
      return ticket;
    }

    const changed: string[] = [];
    let next: Ticket = { ...t, occurrences: t.occurrences + 1, lastSeenAt: Math.max(t.lastSeenAt, f.at), updatedAt: now, conditionCleared: false };
    if (t.status === 'resolved' || t.status === 'accepted') {
      // The condition came back after the desk called it fixed: the same problem, so the same ticket.
      next = reopened(next, now, slaOf(policy, higherPriority(t.priority, priority), now));
      await this.cases.notHeld(t.id);
      await this.record(next, 'ticket.reopened', RULE_ENGINE, { from: t.status, to: 'reopened', note: `${f.ruleId} fired again after the ticket was resolved`, previousOutcome: t.outcome }, out);
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
    await this.store.putFinding(t.id, f);
    next.evidence = await buildEvidence(await this.store.latestFindings(t.id), this.deps.history);
    await this.store.save(next);
    await this.record(next, 'ticket.updated', RULE_ENGINE, { ruleId: f.ruleId, metric: f.metric, event: f.event, severity: f.severity, occurrences: next.occurrences, changed }, out);
    return next;
  }

  private equipmentOf(deviceId: string, site: string | null): Equipment | null {
    return this.deps.equipment?.(deviceId, site) ?? null;
  }

  /**
   * What a new ticket suggests: the fix of the best-matching confirmed case of the same fault (a
   * sibling of the same model first), then the knowledge base's advice; the knowledge base alone when
   * no case is that close.
   */
  private async advise(fault: Fault, probe: Omit<CaseProbe, 'fault'> & { site: string | null }): Promise<Advice> {
    const kb = await this.knowledge.advice(fault);
    const best = await this.cases.bestFix({ ...probe, fault });
    if (!best) return { title: kb.title, action: kb.action, parts: kb.parts };
    const c = best.case;
    const code = c.faultCode ? `${c.faultCode}${c.faultCodeTitle ? ` ${c.faultCodeTitle}` : ''}` : '';
    // The ticket is read by tokens scoped to its site: a case of another site is told without its
    // ticket number and device, which are that site's own.
    const from = c.site === probe.site ? `ticket #${c.ticketId} (${[c.deviceId, c.model, code].filter(Boolean).join(', ')})` : `another ${c.model ?? 'machine'} at another site${code ? ` (${code})` : ''}`;
    const parts = [...new Set([...c.partsUsed.map((p) => p.name), ...kb.parts])];
    return { title: kb.title, action: `As on ${from}: ${c.action}. ${kb.action}`, parts };
  }

  /** The resolve body's structured fields, checked against the fault-code catalog. */
  private resolution(r: ResolutionInput | undefined): { ok: true; resolution: Ticket['resolution'] } | { ok: false; message: string } {
    if (!r || Object.values(r).every((v) => v === undefined)) return { ok: true, resolution: null };
    let faultCode: string | null = null;
    if (r.faultCode !== undefined) {
      const known = this.catalog.find(r.faultCode);
      if (!known) return { ok: false, message: `faultCode: ${JSON.stringify(r.faultCode.slice(0, 40))} is not in the fault-code catalog (GET /api/v1/fault-codes lists it)` };
      faultCode = known.code;
    }
    return { ok: true, resolution: { faultCode, component: r.component ?? null, action: r.action ?? null, partsUsed: r.partsUsed ?? [], minutesOnSite: r.minutesOnSite ?? null } };
  }

  private async record(t: Ticket, type: TicketEventType, actor: Actor, detail: Record<string, unknown>, out: [TicketEvent, Ticket][]): Promise<TicketEvent> {
    const now = this.deps.clock.now();
    const ev = await this.store.addEvent(t.id, type, now, actor, detail);
    // Heard by the other servers when (and only if) this transaction commits.
    if (this.deps.sql instanceof PostgresSql) await this.deps.sql.notify(LIVE_CHANNEL, JSON.stringify({ o: this.origin, e: ev.id }));
    // A repeat of a known problem is history, not news: the desk hears of it when something it acts
    // on changes (severity, priority, fault), so a flood of findings is not a flood of webhooks.
    const news = type !== 'ticket.updated' || (Array.isArray(detail.changed) && detail.changed.length > 0);
    if (news) {
      const payload: WebhookPayload = { id: idempotencyKey(ev.id), type, at: new Date(now).toISOString(), actor, detail, ticket: t };
      await this.outputs.enqueue(ev, payload, now);
    }
    out.push([ev, t]);
    return ev;
  }

  /** An event committed through another server: read it and pass it to this server's listeners. */
  private fromElsewhere(payload: string): void {
    let note: { o?: unknown; e?: unknown };
    try {
      note = JSON.parse(payload) as { o?: unknown; e?: unknown };
    } catch {
      return;
    }
    if (note.o === this.origin || typeof note.e !== 'number') return;
    const id = note.e;
    this.remote = this.remote.then(async () => {
      try {
        const [ev] = await this.store.eventsAfter(id - 1, 1);
        const t = ev && ev.id === id ? await this.store.get(ev.ticketId) : undefined;
        if (ev && t) this.tell(ev, t);
      } catch (err) {
        this.deps.log.warn({ err, event: id }, "another server's ticket event could not be read; the live stream resumes it on reconnect");
      }
    });
  }

  private tell(ev: TicketEvent, t: Ticket): void {
    for (const l of this.listeners) {
      try {
        l(ev, t);
      } catch (err) {
        this.deps.log.error({ err }, 'ticket event listener failed');
      }
    }
  }

  private publish(out: [TicketEvent, Ticket][]): void {
    if (out.length === 0) return;
    for (const [ev, t] of out) {
      this.eventsTotal.inc({ type: ev.type });
      this.tell(ev, t);
    }
    this.webhooks.kick();
  }
}

function titleOf(what: string, deviceId: string | null, site: string | null): string {
  return `${what}${deviceId ? ` on ${deviceId}` : ''}${site ? ` at ${site}` : ''}`;
}

/** What every new ticket starts with, whatever opened it: nobody on it yet, nothing decided. */
function opening(sla: { respondBy: number; resolveBy: number }, advice: { action: string; parts: string[] }) {
  return {
    ...TICKET_DEFAULTS,
    ...sla,
    assignee: null,
    occurrences: 1,
    conditionCleared: false,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    slaBreached: [],
    outcome: null,
    suggestedAction: advice.action,
    likelyParts: advice.parts,
    evidence: { recent: [], baseline: {}, limitsCrossed: [], predictedLimitAt: null, findings: [], transmitted: [] },
    externalRef: null,
  } satisfies Partial<Ticket>;
}

/** Back to work: the resolution, acceptance and answer are undone; a fix undone inside its window was not a first-time fix. */
function reopened(t: Ticket, now: number, sla: { respondBy: number; resolveBy: number }): Ticket {
  const lost = t.firstTimeFix === true && t.firstFixUntil !== null && now <= t.firstFixUntil;
  return { ...t, status: 'reopened', outcome: null, resolvedAt: null, closedAt: null, acknowledgedAt: null, acceptance: null, survey: null, closeReason: null, slaBreached: [], ...sla, ...(lost ? { firstTimeFix: false } : {}) };
}

/** The customer's urgency in the policy's terms: high and critical weigh as a critical finding. */
function severityOf(u: Urgency): Severity {
  return u === 'high' || u === 'critical' ? 'critical' : 'warning';
}

/** The answer to an action decided on a version the ticket has left behind. */
function stale(t: Ticket, version: number): ActResult {
  return { ok: false, status: 409, error: 'conflict', message: `ticket ${t.id} changed since version ${version} (it is at version ${t.version}): reload it and decide again` };
}

/** The PostgreSQL channel on which servers sharing a store announce committed ticket events. */
const LIVE_CHANNEL = 'vigil_ticket_events';

const byUrgency = (a: { priority: Priority; id: number }, b: { priority: Priority; id: number }) => a.priority.localeCompare(b.priority) || a.id - b.id;
