import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresSql, type Sql, gatewayTopic, silentLogger } from '../../core/index.ts';
import { ClusterNode, ShardLeases, ShardSubscriber } from '../../server/cluster/index.ts';
import { testStore } from '../helpers/engines.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';

const TTL = 1500;
const MEMBER = fileURLToPath(new URL('../helpers/cluster-member.ts', import.meta.url));
// Sites on different shards, so the two servers share them.
const SITES = Array.from({ length: 12 }, (_, i) => `site-${i}`);

// Two servers sharing the shards through leases in PostgreSQL and shard sessions on Mosquitto. One, in
// its own process, is SIGKILLed; the other takes its shards once the leases run out, and every message
// published all along is taken by one of them.
describe('cluster nodes: leases and shard sessions together', () => {
  const broker = new Mosquitto(
    [
      { username: 'vigil-server', password: 'server-password' },
      { username: 'gw', password: 'gw-password' },
    ],
    'user vigil-server\ntopic readwrite vigil/#\n\nuser gw\ntopic write vigil/#\n',
  );
  let sql: Sql;
  let gw: MqttClient;
  const got = new Map<string, number[]>();
  let child: ChildProcess | undefined;

  async function node(id: string) {
    const taken: number[] = [];
    got.set(id, taken);
    const subscriber = new ShardSubscriber(
      { url: broker.url, username: 'vigil-server', password: 'server-password', clientIdPrefix: 'cluster-test' },
      { accept: async (_t, payload) => void taken.push(Number(payload.toString())) },
      silentLogger(),
    );
    const resumed: number[] = [];
    const leases = await ShardLeases.open(sql, { member: { id, host: 'localhost', pid: process.pid }, ttlMs: TTL }, ClusterNode.events(() => n));
    const n: ClusterNode = new ClusterNode(leases, subscriber, { resume: (s) => void resumed.push(s.shard) }, { roundEveryMs: TTL / 3, ttlMs: TTL }, silentLogger());
    return { node: n, subscriber, resumed };
  }

  beforeAll(async () => {
    await broker.start();
    sql = await testStore('postgres', 12);
    gw = connect(broker.url, { username: 'gw', password: 'gw-password', clientId: 'gw-all' });
    await new Promise((r) => gw.once('connect', r));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await gw?.endAsync();
    await sql?.close();
    await broker.destroy();
  });

  it('shares the shards, survives a SIGKILL, and loses no message', async () => {
    const url = (sql as PostgresSql).options.url;
    const a = spawn(process.execPath, ['--import', 'tsx', MEMBER, 'a', url, broker.url, String(TTL)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = a;
    let out = '';
    a.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const tookByA = () => [...out.matchAll(/^took (\d+)$/gm)].map((m) => Number(m[1]));
    await waitFor(() => /^started 64$/m.test(out), { message: 'a holds every shard', timeoutMs: 20_000 });
    const b = await node('b');
    await b.node.start();
    await waitFor(async () => b.subscriber.shards().length === 32, { message: 'b took half', timeoutMs: 10_000 });

    let sent = 0;
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const site = SITES[sent % SITES.length]!;
        await gw.publishAsync(gatewayTopic(site, 'gw', 'envelope'), String(sent++), { qos: 1 });
      }
    };
    await publish(120);
    await waitFor(() => new Set([...tookByA(), ...got.get('b')!]).size === 120, { message: 'both took their part' });
    expect(tookByA().length).toBeGreaterThan(0);
    expect(got.get('b')!.length).toBeGreaterThan(0);

    const aHad = Array.from({ length: 64 }, (_, i) => i).filter((s) => !b.subscriber.shards().includes(s));
    a.kill('SIGKILL');
    const killedAt = Date.now();
    await publish(120); // a's part waits in its shards' sessions
    await waitFor(() => b.subscriber.shards().length === 64, { message: 'b took every shard', timeoutMs: 10_000 });
    const handoverMs = Date.now() - killedAt;
    expect(handoverMs).toBeLessThan(TTL * 3);
    expect(b.resumed).toEqual(expect.arrayContaining(aHad));
    await waitFor(() => new Set([...tookByA(), ...got.get('b')!]).size === sent, { message: 'every message taken' });

    const view = await b.node.leases.view();
    expect(view.members.map((m) => [m.id, m.alive, m.shards.length])).toEqual([
      ['a', false, 0],
      ['b', true, 64],
    ]);
    expect(view.handovers.some((h) => h.from === 'a' && h.to === 'b')).toBe(true);
    await b.node.stop();
    expect((await b.node.leases.view()).unowned).toHaveLength(64);
  });
});
