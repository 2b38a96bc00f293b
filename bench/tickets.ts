import { join } from 'node:path';
import { type Finding, createRegistry, dedupeKeyOf, openDatabase, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { TicketManager, TicketsConfigSchema } from '../tickets/index.ts';
import { WebhookReceiver } from '../test/helpers/receiver.ts';

const SECRET = 'bench-webhook-secret-0123456789';

function finding(i: number, devices: number): Finding {
  const deviceId = `pump-${i % devices}`;
  return {
    ruleId: `rule-${i % 3}`,
    deviceId,
    metric: 'vibration_kurtosis',
    severity: i % 5 === 0 ? 'critical' : 'warning',
    event: i % 7 === 0 ? 'resolve' : 'fire',
    fault: 'bearing_wear',
    at: Date.now(),
    evidence: { kind: 'baseline', value: 9, baseline: 3, score: 8, warning: 6, critical: 15, measure: 'deviations' },
    dedupeKey: dedupeKeyOf(deviceId, 'bearing_wear'),
    site: 'plant-a',
  };
}

/**
 * Findings into tickets (each one a SQLite transaction: ticket, history, outbox) on a WAL file, for a
 * flood on 100 devices and for 5,000 new problems; then webhook deliveries per second to a signing-
 * checking receiver on loopback that answers at once.
 */
export async function benchTickets(dir: string): Promise<{ floodFindingsPerS: number; newTicketsPerS: number; webhookDeliveriesPerS: number; deliveries: number }> {
  const db = openDatabase(join(dir, 'tickets.db'));
  const m = new TicketManager(parseConfig(TicketsConfigSchema, { webhooks: { concurrency: 8 } }, {}), { db, clock: systemClock, log: silentLogger(), registry: createRegistry() });
  const receiver = new WebhookReceiver(SECRET);
  const url = await receiver.start();
  m.outbox.createSubscription({ url, events: ['*'], secret: SECRET, description: 'bench', createdAt: Date.now(), createdBy: 'bench' });

  let t = performance.now();
  for (let i = 0; i < 10_000; i++) m.handleFinding(finding(i, 100));
  const floodFindingsPerS = Math.round(10_000 / ((performance.now() - t) / 1000));

  t = performance.now();
  for (let i = 0; i < 5_000; i++) m.handleFinding({ ...finding(1, 1), deviceId: `fan-${i}`, dedupeKey: dedupeKeyOf(`fan-${i}`, 'bearing_wear'), event: 'fire' });
  const newTicketsPerS = Math.round(5_000 / ((performance.now() - t) / 1000));

  const queued = m.outbox.counts().pending;
  t = performance.now();
  await m.start();
  while (m.webhooks.busy) await new Promise((r) => setTimeout(r, 5));
  const webhookDeliveriesPerS = Math.round(queued / ((performance.now() - t) / 1000));
  await m.stop();
  await receiver.stop();
  db.close();
  return { floodFindingsPerS, newTicketsPerS, webhookDeliveriesPerS, deliveries: queued };
}
