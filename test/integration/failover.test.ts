import { describe, expect, it } from 'vitest';
import { failoverDrill } from '../../drills/failover.ts';
import { freshDatabase } from '../helpers/engines.ts';

// The failover drill (`npm run drill -- failover`), short: two `vigil server` processes share the
// shards over a three-node NATS cluster and PostgreSQL; the one that owns the gateway's shard is
// SIGKILLed once and the broker node the gateway is on stops for a few seconds, while numbered readings
// flow. Counts come back from VictoriaMetrics (readings) and PostgreSQL (tickets).
describe('failover drill, short: 2 servers, 1 kill, 1 broker node stopped', () => {
  it('loses no acknowledged reading, opens one ticket per problem, and moves the shard', async () => {
    const r = await failoverDrill({
      servers: 2,
      seconds: 25,
      rate: 500,
      killEveryS: 7,
      maxKills: 1,
      restartAfterS: 8,
      brokerStop: { atS: 15, forS: 5 },
      failoverAfter: '3s',
      database: await freshDatabase('failover'),
    });
    // One comparison, so a failure shows every count.
    expect(r).toMatchObject({ kills: 1, broker_stops: 1, drained: 1, acknowledged: r.sent, lost: 0, stored: r.sent, duplicate_tickets: 0 });
    expect(r.sent).toBeGreaterThan(5000);
    // The hot bearing is one problem: one ticket, whichever server raised it.
    expect(r.tickets).toBeGreaterThanOrEqual(1);
    // Another server took the shard (how fast is the drill's figure, not a test's).
    expect(r.handovers_s).toHaveLength(1);
    expect(Number.isFinite(r.handovers_s[0])).toBe(true);
  }, 240_000);
});
