import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../core/index.ts';
import { TwoServers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

const SITES = Array.from({ length: 12 }, (_, i) => `site-${i}`);
const EVERY = 10 * 60_000;
const RULESET = `version: 1
name: fleet
defaults: { for: 0, minSamples: 1, clearFor: 0 }
devices:
  - { id: "*-fan", model: AF-710 }
rules:
  - { id: fan-vs-fleet, kind: fleet-outlier, metric: vibration_rms, fault: vibration, params: { smoothing: 1h, warmUp: 1h, staleAfter: 1d } }
`;

// A model's fans spread over sites that two servers hold: the fleet rule on one server compares its fan
// with the siblings the other server holds too (shared through PostgreSQL), and names them.
describe('fleet rules across two servers sharing the shards', () => {
  const tmp = tempDir();
  const ruleset = join(tmp.dir, 'fleet.yaml');
  writeFileSync(ruleset, RULESET);
  const cluster = new TwoServers({ rules: { ruleset }, fleetShareEvery: '500ms' });

  beforeAll(async () => {
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.destroy();
    tmp.cleanup();
  });

  it("fires on a's drifting fan against the siblings b holds, and names them", async () => {
    const aShards = await cluster.shardsOf('a');
    const odd = SITES.find((s) => aShards.includes(shardOf(s)))!;
    // The siblings: every other site's fan, some of them on b.
    const bSites = SITES.filter((s) => !aShards.includes(shardOf(s)));
    expect(bSites.length).toBeGreaterThanOrEqual(4);

    // Two hours of history at ten-minute steps: every fan alike.
    const t0 = Date.now() - 3 * 3_600_000;
    let t = t0;
    for (; t < t0 + 2 * 3_600_000; t += EVERY) {
      for (const [i, site] of SITES.entries()) await cluster.send(site, [{ deviceId: `${site}-fan`, metric: 'vibration_rms', value: 1 + i / 100, ts: t }]);
    }
    // Each server's levels reach the store and the other's board.
    await new Promise((r) => setTimeout(r, 2000));
    // a's fan drifts far above its model.
    const findings = async (url: string) =>
      ((await (await fetch(`${url}/api/v1/findings?device=${odd}-fan&rule=fan-vs-fleet`)).json()) as { findings: { event: string; evidence: { siblingCount: number; siblings: { deviceId: string }[] } }[] }).findings;
    await waitFor(
      async () => {
        t += 60_000;
        await cluster.send(odd, [{ deviceId: `${odd}-fan`, metric: 'vibration_rms', value: 5, ts: t }]);
        return (await findings(cluster.a.httpUrl)).some((f) => f.event === 'fire');
      },
      { message: "a's fan judged against the fleet", timeoutMs: 20_000, intervalMs: 500 },
    );
    const fire = (await findings(cluster.b.httpUrl)).find((f) => f.event === 'fire')!;
    // b's fans are among them: a compared its fan with devices it does not hold.
    expect(fire.evidence.siblings.map((s) => s.deviceId)).toEqual(expect.arrayContaining(bSites.slice(0, 4).map((s) => `${s}-fan`)));
    expect(fire.evidence.siblingCount).toBe(SITES.length - 1);
  });
});
