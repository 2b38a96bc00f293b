import { TICKET_DEFAULTS, type Ticket } from '../../core/index.ts';

/** A ticket as the store would hold it, with only what a test is about given. */
export function aTicket(o: Partial<Ticket> & { id: number; createdAt: number }): Ticket {
  return {
    ...TICKET_DEFAULTS,
    dedupeKey: `k-${o.id}`,
    site: 'plant-a',
    deviceId: 'fan-1',
    fault: 'bearing_wear',
    title: 'Bearing wear',
    status: 'open',
    priority: 'P3',
    severity: 'warning',
    dispatchGroup: 'default-fan',
    assignee: null,
    occurrences: 1,
    rules: [],
    updatedAt: o.createdAt,
    firstSeenAt: o.createdAt,
    lastSeenAt: o.createdAt,
    conditionCleared: false,
    respondBy: o.createdAt + 3_600_000,
    resolveBy: o.createdAt + 86_400_000,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    slaBreached: [],
    outcome: null,
    suggestedAction: '',
    likelyParts: [],
    evidence: { recent: [], baseline: {}, limitsCrossed: [], predictedLimitAt: null, findings: [], transmitted: [] },
    externalRef: null,
    version: 1,
    ...o,
  } as Ticket;
}
