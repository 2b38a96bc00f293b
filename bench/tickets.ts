import { join } from 'node:path';
import { type Finding, type Sql, SqliteSql, createRegistry, dedupeKeyOf, openDatabase, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { KpiWriter, TicketManager, TicketsConfigSchema, computeKpis } from '../tickets/index.ts';
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
 * Findings into tickets (each one a transaction of the store: ticket, history, outbox), for a flood on
 * 100 devices and for 5,000 new problems; then webhook deliveries per second to a signing-checking
 * receiver on loopback that answers at once. `open` gives the store: the SQLite file in `dir`, or a
 * PostgreSQL database.
 */
export async function benchTickets(dir: string, open: () => Promise<Sql> = async () => new SqliteSql(openDatabase(join(dir, 'tickets.db')))): Promise<{ floodFindingsPerS: number; newTicketsPerS: number; webhookDeliveriesPerS: number; deliveries: number }> {
  const sql = await open();
  const m = await TicketManager.open(parseConfig(TicketsConfigSchema, { webhooks: { concurrency: 8 } }, {}), { sql, clock: systemClock, log: silentLogger(), registry: createRegistry() });
  const receiver = new WebhookReceiver(SECRET);
  const url = await receiver.start();
  await m.outbox.createSubscription({ url, events: ['*'], secret: SECRET, description: 'bench', createdAt: Date.now(), createdBy: 'bench' });

  // All given at once, as the rule engine gives them: a device's apply in order, devices side by side.
  let t = performance.now();
  await Promise.all(Array.from({ length: 10_000 }, (_, i) => m.handleFinding(finding(i, 100))));
  const floodFindingsPerS = Math.round(10_000 / ((performance.now() - t) / 1000));

  t = performance.now();
  await Promise.all(Array.from({ length: 5_000 }, (_, i) => m.handleFinding({ ...finding(1, 1), deviceId: `fan-${i}`, dedupeKey: dedupeKeyOf(`fan-${i}`, 'bearing_wear'), event: 'fire' })));
  const newTicketsPerS = Math.round(5_000 / ((performance.now() - t) / 1000));

  const queued = (await m.outbox.counts()).pending;
  t = performance.now();
  await m.start();
  while (await m.webhooks.busy()) await new Promise((r) => setTimeout(r, 5));
  const webhookDeliveriesPerS = Math.round(queued / ((performance.now() - t) / 1000));
  await m.stop();
  await receiver.stop();
  await sql.close();
  return { floodFindingsPerS, newTicketsPerS, webhookDeliveriesPerS, deliveries: queued };
}

/**
 * KPI time over a year of 1,000,000 stored tickets (200 sites, mixed outcomes): the rows the store
 * keeps per ticket are written straight into a fresh file, then the desk's two usual questions are
 * timed: the year by site and month, and by source and week. Median of three runs each.
 */
export async function benchKpis(dir: string, n = 1_000_000): Promise<{ tickets: number; bySiteMonthMs: number; bySourceWeekMs: number; rows: number }> {
  const sql = new SqliteSql(openDatabase(join(dir, 'kpis.db')));
  // The rows the store writes on every save (ticket_kpi and the per-day sums), without the tickets.
  const kpis = await KpiWriter.open(sql);
  const year = Date.UTC(2025, 0, 1);
  let s = 1;
  const rnd = () => ((s = (Math.imul(s, 48271) >>> 0) % 2147483647) / 2147483647);
  await sql.tx(async () => {
    for (let i = 1; i <= n; i++) {
      const opened = year + Math.floor((i / n) * 365 * 86_400_000);
      const d = new Date(opened);
      const week = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      const site = `site-${i % 200}`;
      const resp = rnd() < 0.95 ? Math.floor(rnd() * 120) * 60_000 : null;
      const resolved = rnd() < 0.9 ? opened + Math.floor(rnd() * 72) * 3_600_000 : null;
      const score = resolved !== null && rnd() < 0.6 ? 1 + Math.floor(rnd() * 5) : null;
      await kpis.put({
        id: i,
        openedAt: opened,
        week,
        month: d.toISOString().slice(0, 7),
        site,
        // As the policy derives them: region, customer and dispatch group follow the site.
        region: `region-${(i % 200) % 8}`,
        grp: `group-${(i % 200) % 20}-${['pump', 'fan', 'motor', 'compressor'][i % 4]}`,
        customer: `customer-${(i % 200) % 50}`,
        equipment: ['pump', 'fan', 'motor', 'compressor'][i % 4]!,
        source: rnd() < 0.6 ? 'predicted' : 'reported',
        status: resolved ? 'closed' : 'open',
        predictedFirst: rnd() < 0.5 ? 1 : 0,
        responseMs: resp,
        respondBy: opened + 3_600_000,
        resolveBy: opened + 86_400_000,
        resolvedAt: resolved,
        firstFix: resolved ? (rnd() < 0.8 ? 1 : 0) : null,
        score,
        nps: score !== null && rnd() < 0.5 ? Math.floor(rnd() * 11) : null,
        closeReason: score !== null ? 'answered' : null,
      });
    }
  });
  const targets = parseConfig(TicketsConfigSchema, {}, {}).policy.targets;
  const time = async (groupBy: 'site' | 'source', interval: 'month' | 'week') => {
    const runs: number[] = [];
    let rows = 0;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      rows = (await computeKpis(sql, { from: year, to: year + 365 * 86_400_000, groupBy, interval, asOf: year + 400 * 86_400_000 }, targets)).length;
      runs.push(performance.now() - t);
    }
    return { ms: Math.round(runs.sort((a, b) => a - b)[1]!), rows };
  };
  const bySite = await time('site', 'month');
  const bySource = await time('source', 'week');
  await sql.close();
  return { tickets: n, bySiteMonthMs: bySite.ms, bySourceWeekMs: bySource.ms, rows: bySite.rows };
}
