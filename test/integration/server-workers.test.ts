import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTopic } from '../../core/index.ts';
import { VigilProcess } from '../helpers/child.ts';
import { freshDatabase } from '../helpers/engines.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type CollectedStream, collectStream } from '../helpers/sse.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Victoria } from '../helpers/victoria.ts';

const ACL = readFileSync(new URL('../../examples/mosquitto/acl', import.meta.url), 'utf8');
const SERVER = { username: 'vigil-server', password: 'server-secret-for-tests' };
const SITES = Array.from({ length: 16 }, (_, i) => `site-${i}`);
const ADMIN = 'admin-token-for-the-workers-test';
const auth = { headers: { authorization: `Bearer ${ADMIN}` } };

type Cluster = { members: { id: string; pid: number; alive: boolean; shards: number[]; apiUrl: string | null }[]; unowned: number[] };

// `vigil server --workers 2`: two processes on one machine share the shards through the same leases
// as separate servers, behind one HTTP port; a worker that dies is started again by the primary.
describe('vigil server --workers 2', () => {
  const tmp = tempDir();
  const broker = new Mosquitto([{ username: 'gw-1', password: 'gw-password' }, SERVER], ACL);
  const vm = new Victoria();
  let proc: VigilProcess;
  let http = 0;
  let gw: MqttClient;
  let seq = 0;
  let sent = 0;
  const cluster = async () => (await (await fetch(`http://127.0.0.1:${http}/api/v1/cluster`, auth)).json()) as Cluster;
  const round = async () => {
    const ts = Date.now() - 60_000;
    for (const site of SITES) {
      const env = { v: 1, site, gatewayId: 'gw-1', bootId: 'boot-1', seq: seq++, sentAt: Date.now(), readings: [{ deviceId: `${site}-fan`, metric: 'bearing_temp', value: 50, ts: ts + seq }] };
      await gw.publishAsync(gatewayTopic(site, 'gw-1', 'envelope'), JSON.stringify(env), { qos: 1 });
      sent++;
    }
  };

  beforeAll(async () => {
    await Promise.all([broker.start(), vm.start()]);
    http = await freePort();
    const config = join(tmp.dir, 'server.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        version: 1,
        dataDir: join(tmp.dir, 'data'),
        database: { url: await freshDatabase('workers') },
        http: { host: '127.0.0.1', port: http, requireAuth: true, apiToken: '${ADMIN_TOKEN}' },
        broker: { mode: 'external', url: broker.url, username: SERVER.username, password: '${BROKER_PASSWORD}', clientId: 'vigil-server', shards: 'leased' },
        cluster: { memberId: 'box', failoverAfter: '2s' },
        sinks: [{ kind: 'influxdb', url: vm.url, org: 'vigil', bucket: 'telemetry' }],
      }),
    );
    proc = new VigilProcess(['server', '-c', config, '--workers', '2'], { BROKER_PASSWORD: SERVER.password, ADMIN_TOKEN: ADMIN, VIGIL_LOG_LEVEL: 'warn' }).start();
    gw = connect(broker.url, { username: 'gw-1', password: 'gw-password', clientId: 'gw-1' });
    await new Promise((r) => gw.once('connect', r));
  }, 60_000);
  afterAll(async () => {
    await proc?.kill('SIGTERM');
    await gw?.endAsync();
    await broker.destroy();
    await vm.destroy();
    tmp.cleanup();
  });

  it('splits the shards between two workers on one port, restarts a killed one, and loses no reading', async () => {
    const balanced = await waitFor(
      async () => {
        const c = await cluster().catch(() => undefined);
        const alive = c?.members.filter((m) => m.alive) ?? [];
        return alive.length === 2 && alive.every((m) => m.shards.length === 32) ? alive : undefined;
      },
      { timeoutMs: 30_000, message: `two workers, 32 shards each: ${proc.output.slice(-2000)}` },
    );
    expect(balanced.map((m) => m.id).sort()).toEqual(['box-w0', 'box-w1']);
    expect(new Set(balanced.map((m) => m.pid)).size).toBe(2);

    await round();
    await waitFor(async () => (await vm.count()) === sent, { message: 'every reading stored by one worker or the other' });

    // /metrics through the shared port shows both workers' series, whichever worker takes the scrape:
    // their ingested readings add up to what was sent.
    const ingested = (text: string) => [...text.matchAll(/^vigil_readings_ingested_total\{worker="(\d)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])] as const);
    for (let k = 0; k < 4; k++) {
      const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      const byWorker = ingested(text);
      expect(byWorker.map(([w]) => w).sort()).toEqual(['0', '1']);
      expect(byWorker.reduce((n, [, v]) => n + v, 0)).toBe(sent);
      expect(text).toMatch(/^# TYPE vigil_readings_ingested_total counter$/m);
      // A figure both workers read from the shared store shows once, not once per worker.
      expect(text).toMatch(/^vigil_kpi_target\{kpi="first_time_fix"\} [\d.]+$/m);
      expect(text.match(/^vigil_kpi_target\{kpi="first_time_fix"/gm)).toHaveLength(1);
    }

    // Each worker tells the cluster a port of its own, so any worker (the shared port hands a
    // connection to either) can ask the one that holds a device for it.
    const urls = await waitFor(async () => {
      const u = (await cluster()).members.filter((m) => m.alive).map((m) => m.apiUrl);
      return u.every((x) => x !== null) && new Set(u).size === 2 ? (u as string[]) : undefined;
    }, { message: 'a port of its own per worker' });
    expect(urls).not.toContain(`http://127.0.0.1:${http}`);
    // A worker's own port is the same API with the same guard, as an attacker would try it: no token,
    // an encoded path, a forged forwarded mark.
    for (const u of urls) {
      expect((await fetch(`${u}/api/v1/cluster`)).status).toBe(401);
      expect((await fetch(`${u}/%61pi/v1/cluster`)).status).toBe(401);
      expect((await fetch(`${u}/api/v1/devices/${SITES[0]}-fan/overview`, { headers: { 'x-vigil-forwarded': '1' } })).status).toBe(401);
      expect((await fetch(`${u}/api/v1/cluster`, auth)).status).toBe(200);
    }
    for (const site of SITES) {
      for (let k = 0; k < 2; k++) {
        const r = await fetch(`http://127.0.0.1:${http}/api/v1/devices/${site}-fan/overview`, auth);
        expect(r.status, `${site}-fan through the shared port`).toBe(200);
      }
    }
    // The device list and the live stream are whole whichever worker answers: each asks the other.
    for (let k = 0; k < 4; k++) {
      const list = (await (await fetch(`http://127.0.0.1:${http}/api/v1/devices`, auth)).json()) as { total: number; devices: { site: string }[] };
      expect(list.total).toBe(SITES.length);
      expect(list.devices.map((d) => d.site).sort()).toEqual([...SITES].sort());
    }
    const streams = [await collectStream(`http://127.0.0.1:${http}/api/v1/readings/stream?access_token=${ADMIN}`), await collectStream(`http://127.0.0.1:${http}/api/v1/readings/stream?access_token=${ADMIN}`)];
    const sitesIn = (s: CollectedStream) => new Set(s.events.flatMap((e) => (e.event === 'readings' ? (e.data as { site: string }[]).map((x) => x.site) : [])));
    await waitFor(
      async () => {
        await round();
        await new Promise((r) => setTimeout(r, 500));
        return streams.every((s) => SITES.every((site) => sitesIn(s).has(site)));
      },
      { timeoutMs: 30_000, message: 'every site in both streams' },
    );
    for (const s of streams) s.close();
    await waitFor(async () => (await vm.count()) === sent, { message: 'the rounds sent while streaming, stored' });

    // A worker dies: the primary starts it again, and it takes its share back.
    const victim = balanced[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await round(); // meanwhile its shards wait in their sessions on the broker
    await waitFor(
      async () => {
        const c = await cluster().catch(() => undefined);
        const m = c?.members.find((x) => x.id === victim.id);
        return m?.alive && m.pid !== victim.pid && m.shards.length === 32;
      },
      { timeoutMs: 30_000, message: 'the killed worker is back with its share' },
    );
    await round();
    await waitFor(async () => (await vm.count()) === sent, { message: 'no reading lost across the kill' });

    expect(await proc.kill('SIGTERM')).toBe(0);
    const pids = (await Promise.resolve(balanced)).map((m) => m.pid).filter((p) => p !== victim.pid);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
