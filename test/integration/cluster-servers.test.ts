import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reading, gatewayTopic, metricValue, shardOf } from '../../core/index.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { type CollectedStream, collectStream } from '../helpers/sse.ts';
import { waitFor } from '../helpers/net.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const ACL = readFileSync(new URL('../../examples/mosquitto/acl', import.meta.url), 'utf8');
const SITES = Array.from({ length: 12 }, (_, i) => `site-${i}`);
const SERVER = { username: 'vigil-server', password: 'server-secret-for-tests' };
const ADMIN = 'admin-token-for-the-cluster-test';

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
    const s = await startServer({
      dataDir: join(tmp.dir, memberId),
      external: { url: broker.url, ...SERVER },
      database: url,
      cluster: { memberId, failoverAfter: '2s' },
      http: { requireAuth: true, apiToken: '${ADMIN_TOKEN}' },
      env: { ADMIN_TOKEN: ADMIN },
    });
    servers.push(s);
    return s;
  };
  const get = (s: ServerHandle, path: string, token: string | null = ADMIN, headers: Record<string, string> = {}) =>
    fetch(`${s.httpUrl}${path}`, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const api = async (s: ServerHandle, path: string) => (await get(s, path)).json() as Promise<Record<string, unknown>>;
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

    // The console works against either server: b asks a for a device on a's shards (live values, the
    // alert a holds), and the fleet from either is the whole fleet.
    const overview = await waitFor(async () => {
      const r = await get(b, `/api/v1/devices/${hot}-fan/overview`);
      return r.status === 200 ? ((await r.json()) as { device: { site: string; values: Record<string, unknown> }; alerts: { ruleId: string }[] }) : undefined;
    }, { message: "b answers for a's device" });
    expect(overview.device.site).toBe(hot);
    expect(Object.keys(overview.device.values)).toContain('bearing_temp');
    expect(overview.alerts.map((x) => x.ruleId)).toContain('bearing-temp-limit');
    // A question marked as asked by another server is answered from b's own shards only: never passed on.
    expect((await get(b, `/api/v1/devices/${hot}-fan/overview`, ADMIN, { 'x-vigil-forwarded': '1' })).status).toBe(404);
    // As an attacker would: no token is refused before anything is asked of a; a token scoped to another
    // site gets nothing of hot's device from either server; a token for hot's site gets it through b.
    expect((await get(b, `/api/v1/devices/${hot}-fan/overview`, null)).status).toBe(401);
    const mint = async (sites: string[]) => {
      const r = await fetch(`${b.httpUrl}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `viewer-${sites[0]}`, role: 'viewer', scope: { sites } }) });
      expect(r.status).toBe(201);
      return ((await r.json()) as { token: string }).token;
    };
    const other = SITES.find((x) => x !== hot)!;
    const otherViewer = await mint([other]);
    expect((await get(b, `/api/v1/devices/${hot}-fan/overview`, otherViewer)).status).toBe(404);
    expect((await get(b, `/api/v1/devices/${hot}-fan/overview`, otherViewer, { 'x-vigil-forwarded': '1' })).status).toBe(404);
    const scopedFleet = (await (await get(b, '/api/v1/fleet', otherViewer)).json()) as { total: number; sites: { site: string }[] };
    expect(scopedFleet.sites.map((x) => x.site)).toEqual([other]);
    expect(scopedFleet.total).toBe(1);
    const hotViewer = await mint([hot]);
    expect((await get(b, `/api/v1/devices/${hot}-fan/overview`, hotViewer)).status).toBe(200);
    // History is in the shared store: from b, hot's own viewer sees it (once a has written the minutes),
    // another site's viewer gets a 404.
    const history = `/api/v1/history?device=${hot}-fan&metrics=bearing_temp`;
    await waitFor(async () => {
      const r = await get(b, history, hotViewer);
      return r.status === 200 && ((await r.json()) as { series: { bearing_temp: { t: number[] } } }).series.bearing_temp.t.length > 0;
    }, { message: "hot's history from b", timeoutMs: 30_000 });
    expect((await get(b, history, otherViewer)).status).toBe(404);
    for (const s of [a, b]) {
      const fleet = (await api(s, '/api/v1/fleet')) as { total: number; summary: { devices: number; sites: unknown[] }; sites: { site: string }[] };
      expect(fleet.total).toBe(SITES.length);
      expect(fleet.summary.devices).toBe(SITES.length);
      expect(fleet.sites.map((x) => x.site)).toEqual([...SITES].sort(new Intl.Collator().compare));
      const page2 = (await api(s, '/api/v1/fleet?limit=5&offset=5')) as { sites: { devices: unknown[] }[] };
      expect(page2.sites.flatMap((x) => x.devices)).toHaveLength(5);
    }

    // The device list and the gateways are whole from either server too, paged in one order.
    const everyDevice = SITES.map((x) => `${x}-fan`).sort(new Intl.Collator().compare);
    for (const s of [a, b]) {
      const all = (await api(s, '/api/v1/devices')) as { total: number; devices: { deviceId: string }[] };
      expect(all.total).toBe(SITES.length);
      expect(all.devices.map((d) => d.deviceId)).toEqual(everyDevice);
      const page = (await api(s, '/api/v1/devices?limit=4&offset=6')) as { total: number; devices: { deviceId: string }[] };
      expect(page.devices.map((d) => d.deviceId)).toEqual(everyDevice.slice(6, 10));
      // gw-1 speaks for every site here; each server knows it from its own shards' Envelopes (by its
      // latest site there), and either lists both servers' views.
      const gws = (await api(s, '/api/v1/gateways')) as { gateways: { site: string; gatewayId: string }[] };
      expect(gws.gateways.map((g) => g.gatewayId)).toEqual(['gw-1', 'gw-1']);
      expect(new Set(gws.gateways.map((g) => aShards.includes(shardOf(g.site))))).toEqual(new Set([true, false]));
      // A page no server can be asked for in one go is refused with the way out, not answered short.
      const deep = await get(s, '/api/v1/devices?offset=4999&limit=2');
      expect(deep.status).toBe(400);
      expect(((await deep.json()) as { message: string }).message).toMatch(/\?site=/);
      expect((await get(s, '/api/v1/fleet?offset=4999&limit=2')).status).toBe(400);
    }
    expect(((await api(b, '/api/v1/devices?site=' + hot)) as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId)).toEqual([`${hot}-fan`]);
    const scopedDevices = (await (await get(b, '/api/v1/devices', otherViewer)).json()) as { total: number; devices: { site: string }[] };
    expect(scopedDevices.devices.map((d) => d.site)).toEqual([other]);
    // Asked as another server would ask, b lists its own shards' devices only.
    const forwarded = (await (await get(b, '/api/v1/devices', ADMIN, { 'x-vigil-forwarded': '1' })).json()) as { devices: { site: string }[] };
    const bShards = (await cluster(b)).members.find((m) => m.id === 'b')!.shards;
    expect(forwarded.devices.length).toBeGreaterThan(0);
    expect(forwarded.devices.every((d) => bShards.includes(shardOf(d.site)))).toBe(true);

    // Live readings from either server: b's stream carries a's devices too (b follows a's stream as the
    // caller), one device or all; a token scoped to one site gets that site only, whoever holds it.
    const aSite = hot;
    const bSite = SITES.find((x) => bShards.includes(shardOf(x)))!;
    const streamUrl = `${b.httpUrl}/api/v1/readings/stream`;
    const whole = await collectStream(streamUrl, { authorization: `Bearer ${ADMIN}` });
    const oneDevice = await collectStream(`${streamUrl}?device=${aSite}-fan&access_token=${ADMIN}`);
    const scopedToA = await collectStream(`${streamUrl}?access_token=${hotViewer}`);
    const ownOnly = await collectStream(streamUrl, { authorization: `Bearer ${ADMIN}`, 'x-vigil-forwarded': '1' });
    expect([whole.status, oneDevice.status, scopedToA.status, ownOnly.status]).toEqual([200, 200, 200, 200]);
    const sitesIn = (s: CollectedStream) => new Set(s.events.filter((e) => e.event === 'readings').flatMap((e) => (e.data as { site: string }[]).map((x) => x.site)));
    // Sent until every stream has what it should: b follows a within a round of its peer lookups.
    await waitFor(
      async () => {
        await send(aSite, [{ deviceId: `${aSite}-fan`, metric: 'ambient_temp', value: 22, ts: Date.now() }]);
        await send(bSite, [{ deviceId: `${bSite}-fan`, metric: 'ambient_temp', value: 22, ts: Date.now() }]);
        sent += 2;
        await new Promise((r) => setTimeout(r, 300));
        return sitesIn(whole).has(aSite) && sitesIn(whole).has(bSite) && sitesIn(oneDevice).has(aSite) && sitesIn(scopedToA).has(aSite) && sitesIn(ownOnly).has(bSite);
      },
      { message: "b's streams carry a's readings", timeoutMs: 20_000 },
    );
    expect([...sitesIn(oneDevice)]).toEqual([aSite]);
    expect([...sitesIn(scopedToA)]).toEqual([aSite]);
    expect(sitesIn(ownOnly).has(aSite)).toBe(false);
    for (const s of [whole, oneDevice, scopedToA, ownOnly]) s.close();
    // No token: refused before anything is asked of a.
    expect((await collectStream(streamUrl)).status).toBe(401);

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
