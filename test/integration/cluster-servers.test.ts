import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reading, gatewayTopic, metricValue, shardOf } from '../../core/index.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const ACL = readFileSync(new URL('../../examples/mosquitto/acl', import.meta.url), 'utf8');
const SITES = Array.from({ length: 12 }, (_, i) => `site-${i}`);
const SERVER = { username: 'vigil-server', password: 'server-secret-for-tests' };

// Two servers on one PostgreSQL store and one Mosquitto share the 64 shards through leases. Each takes
// the envelopes of its shards only; when one leaves, the other takes its shards with their rule state
// (an alert raised on the first is on the second without a new reading), and no reading is lost.
describe('two servers sharing the shards (broker.shards: leased)', () => {
  const tmp = tempDir();
  const broker = new Mosquitto([{ username: 'gw-1', password: 'gw-password' }, SERVER], ACL);
  let url: string;
  let gw: MqttClient;
  const servers: ServerHandle[] = [];
  const start = async (memberId: string) => {
    const s = await startServer({ dataDir: join(tmp.dir, memberId), external: { url: broker.url, ...SERVER }, database: url, cluster: { memberId, failoverAfter: '2s' } });
    servers.push(s);
    return s;
  };
  const api = async (s: ServerHandle, path: string) => (await fetch(`${s.httpUrl}${path}`)).json() as Promise<Record<string, unknown>>;
  type Cluster = { mode: string; members: { id: string; alive: boolean; shards: number[]; lagMs: Record<string, number> }[]; unowned: number[] };
  const cluster = async (s: ServerHandle) => (await api(s, '/api/v1/cluster')) as unknown as Cluster;

  let seq = 0;
  const last = new Map<string, string>();
  const send = async (site: string, readings: Reading[]) => {
    const env = { v: 1, site, gatewayId: 'gw-1', bootId: `boot-${site}`, seq: seq++, sentAt: Date.now(), readings };
    last.set(site, JSON.stringify(env));
    await gw.publishAsync(gatewayTopic(site, 'gw-1', 'envelope'), last.get(site)!, { qos: 1 });
  };
  let sent = 0;
  const round = async (t: number) => {
    for (const site of SITES) {
      await send(site, [{ deviceId: `${site}-fan`, metric: 'bearing_temp', value: 50, ts: t }]);
      sent++;
    }
  };

  beforeAll(async () => {
    await broker.start();
    url = await freshDatabase('cluster');
    gw = connect(broker.url, { username: 'gw-1', password: 'gw-password', clientId: 'gw-1' });
    await new Promise((r) => gw.once('connect', r));
  });
  afterAll(async () => {
    for (const s of servers) await s.server.stop().catch(() => undefined);
    await gw?.endAsync();
    await broker.destroy();
    tmp.cleanup();
  });

  it('splits the shards, hands them over with their rule state when a server leaves, and loses no reading', async () => {
    const a = await start('a');
    expect((await cluster(a)).members.map((m) => [m.id, m.shards.length])).toEqual([['a', 64]]);
    const b = await start('b');
    await waitFor(async () => (await cluster(b)).members.every((m) => m.shards.length === 32), { message: 'balanced 32/32', timeoutMs: 10_000 });

    const t0 = Date.now() - 60 * 60_000;
    for (let i = 0; i < 5; i++) await round(t0 + i * 60_000);
    await waitFor(async () => (await a.ingested()) + (await b.ingested()) === sent, { message: 'every reading taken by one server' });
    expect(await a.ingested()).toBeGreaterThan(0);
    expect(await b.ingested()).toBeGreaterThan(0);
    // Each owner publishes its intake lag for the shards that carried Envelopes, and only for its own.
    const busy = [...new Set(SITES.map(shardOf))];
    await waitFor(async () => (await cluster(b)).members.every((m) => busy.filter((s) => m.shards.includes(s)).every((s) => m.lagMs[s] !== undefined)), { message: 'lag per busy shard' });
    for (const m of (await cluster(a)).members) {
      for (const [shard, lag] of Object.entries(m.lagMs)) {
        expect(m.shards).toContain(Number(shard));
        expect(lag).toBeGreaterThanOrEqual(0);
      }
    }

    // A device on one of a's shards runs hot: the alert is a's.
    const view = await cluster(a);
    const aShards = view.members.find((m) => m.id === 'a')!.shards;
    const hot = SITES.find((s) => aShards.includes(shardOf(s)))!;
    await send(hot, [{ deviceId: `${hot}-fan`, metric: 'bearing_temp', value: 99, ts: t0 + 5 * 60_000 }]);
    sent++;
    const alertsOf = async (s: ServerHandle) => ((await api(s, `/api/v1/alerts?device=${hot}-fan`)).alerts as { ruleId: string }[]).map((x) => x.ruleId);
    await waitFor(async () => (await alertsOf(a)).includes('bearing-temp-limit'), { message: 'a raised the alert' });
    expect(await alertsOf(b)).toEqual([]);

    // a leaves: it saves and frees its shards; b takes them with the state, before any new reading.
    await a.server.stop();
    await waitFor(async () => (await cluster(b)).members.find((m) => m.id === 'b')!.shards.length === 64, { message: 'b took every shard', timeoutMs: 10_000 });
    await waitFor(async () => (await alertsOf(b)).includes('bearing-temp-limit'), { message: "the alert moved with a's shard" });
    const after = await cluster(b);
    expect(after.members.find((m) => m.id === 'a')?.alive).toBe(false);
    expect(after.unowned).toEqual([]);

    // A gateway whose PUBACK got lost sends an Envelope a stored again, now that b owns the shard:
    // b knows it from the windows a saved with the shard, and stores nothing twice.
    const duplicates = () => metricValue(b.registry, 'vigil_envelopes_total', { outcome: 'duplicate' });
    const takenByB = await b.ingested();
    await gw.publishAsync(gatewayTopic(hot, 'gw-1', 'envelope'), last.get(hot)!, { qos: 1 });
    await waitFor(async () => (await duplicates()) === 1, { message: 'the resend recognised by b' });
    expect(await b.ingested()).toBe(takenByB);

    const takenByA = await a.ingested();
    for (let i = 6; i < 9; i++) await round(t0 + i * 60_000);
    await waitFor(async () => takenByA + (await b.ingested()) === sent, { message: 'no reading lost across the handover' });
  });
});
