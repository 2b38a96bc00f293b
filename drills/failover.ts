import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { shardOf } from '../core/index.ts';
import { VigilProcess } from '../test/helpers/child.ts';
import { NATS_GATEWAY_USER, NATS_SERVER_USER, NatsCluster } from '../test/helpers/nats.ts';
import { freePort } from '../test/helpers/net.ts';
import { Postgres } from '../test/helpers/postgres.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { Victoria } from '../test/helpers/victoria.ts';
import { NumberedSensor, sleep, until } from './common.ts';

// The gateway and site of examples/nats/vigil-users.conf: the cluster runs with the example's logins.
const SITE = 'plant-a';
const GATEWAY = NATS_GATEWAY_USER.username;
const SHARD = shardOf(SITE);
const DEVICES = 10;

export interface FailoverOptions {
  servers: number;
  seconds: number;
  /** Numbered readings a second into the gateway's site broker. */
  rate: number;
  /** SIGKILL the server that owns the gateway's shard every this many seconds (0: never)... */
  killEveryS: number;
  /** ...and start it again after this long. */
  restartAfterS: number;
  /** At most this many kills (default: as many as fit). */
  maxKills?: number;
  /** Stop the broker node the gateway is on at `atS` for `forS` seconds. */
  brokerStop?: { atS: number; forS: number };
  /** The servers' `cluster.failoverAfter`. */
  failoverAfter: string;
  /** An existing PostgreSQL database (tests); else the drill starts its own server. */
  database?: string;
  /** Keep double writes in the TSDB (default: identical points overwrite, as InfluxDB does). */
  raw?: boolean;
}

export interface FailoverResult {
  sent: number;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicates: number;
  tickets: number;
  duplicate_tickets: number;
  max_handover_s: number;
  kills: number;
  broker_stops: number;
  handovers_s: number[];
  tsdb: string;
  drained: number;
}

type ClusterView = { members: { id: string; alive: boolean; shards: number[] }[] };

/**
 * Three servers (or `servers`) share the 64 shards through leases on PostgreSQL and a three-node NATS
 * cluster (examples/nats); one gateway's sensors publish numbered readings. The server that owns the
 * gateway's shard is SIGKILLed every `killEveryS` (and restarted), and the broker node the gateway is
 * on stops for a while. Counts what reached VictoriaMetrics and what tickets PostgreSQL holds.
 */
export async function failoverDrill(o: FailoverOptions): Promise<FailoverResult> {
  const tmp = tempDir('vigil-failover-');
  const vm = new Victoria({ overwrite: !o.raw });
  const nats = new NatsCluster();
  const ownPg = o.database ? undefined : new Postgres();
  const servers: { id: string; http: number; proc: VigilProcess | undefined; config: string }[] = [];
  let gateway: VigilProcess | undefined;
  let sensor: NumberedSensor | undefined;
  try {
    await Promise.all([vm.start(), nats.start(), ownPg?.start()]);
    const database = o.database ?? ownPg!.url;
    const env = { VIGIL_LOG_LEVEL: 'error', DRILL_BROKER_PASSWORD: NATS_SERVER_USER.password, DRILL_PASSWORD: NATS_GATEWAY_USER.password };
    for (let i = 0; i < o.servers; i++) {
      const id = `server-${i + 1}`;
      const http = await freePort();
      const config = join(tmp.dir, `${id}.yaml`);
      // Each server lists the nodes from another one first, so they spread over the cluster.
      const urls = nats.urls.map((_, k) => nats.urls[(k + i) % nats.urls.length]!);
      writeFileSync(
        config,
        JSON.stringify({
          version: 1,
          dataDir: join(tmp.dir, id),
          database: { url: database },
          http: { host: '127.0.0.1', port: http, requireAuth: false },
          broker: { mode: 'external', url: urls, username: NATS_SERVER_USER.username, password: '${DRILL_BROKER_PASSWORD}', clientId: 'vigil-server', shards: 'leased' },
          cluster: { memberId: id, failoverAfter: o.failoverAfter },
          sinks: [{ kind: 'influxdb', url: vm.url, org: 'vigil', bucket: 'telemetry', timeout: '2s' }],
        }),
      );
      servers.push({ id, http, config, proc: undefined });
    }
    // One process per server (`--workers` would make each a group of members).
    const startServer = (s: (typeof servers)[number]) => (s.proc = new VigilProcess(['server', '-c', s.config, '--workers', '1'], env).start());
    // One after the other: the first creates the schema, the others find it.
    for (const s of servers) {
      startServer(s);
      await until(async () => (await fetch(`http://127.0.0.1:${s.http}/readyz`).catch(() => undefined))?.ok === true, 60_000);
    }

    const [gwHttp, sensors] = [await freePort(), await freePort()];
    const gwConfig = join(tmp.dir, 'gateway.yaml');
    writeFileSync(
      gwConfig,
      JSON.stringify({
        version: 1,
        site: SITE,
        gatewayId: GATEWAY,
        dataDir: join(tmp.dir, 'gw'),
        acceptUnknownDevices: true,
        http: { host: '127.0.0.1', port: gwHttp, requireAuth: false },
        drivers: [{ kind: 'mqtt-device', id: 'local', broker: { mode: 'embedded', host: '127.0.0.1', port: sensors, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}/{metric}' }] }],
        uplink: { url: nats.urls, password: '${DRILL_PASSWORD}', maxDelay: '200ms', reconnect: { initial: '200ms', max: '1000ms' } },
      }),
    );
    gateway = new VigilProcess(['gateway', '-c', gwConfig], env).start();
    await until(async () => (await fetch(`http://127.0.0.1:${gwHttp}/healthz`).catch(() => undefined))?.ok === true, 30_000);

    // Values a healthy fan has: the only problem is the hot bearing.
    sensor = await NumberedSensor.connect(`mqtt://127.0.0.1:${sensors}`, 'failover-sensor', { devices: DEVICES, value: (n) => 1 + (n % 7) / 10 });
    sensor.start(o.rate);
    const numbered = sensor;

    const live = () => servers.filter((s) => s.proc);
    const view = async (): Promise<ClusterView | undefined> => {
      for (const s of live()) {
        const r = await fetch(`http://127.0.0.1:${s.http}/api/v1/cluster`).catch(() => undefined);
        if (r?.ok) return (await r.json()) as ClusterView;
      }
      return undefined;
    };
    const ownerOfShard = async () => (await view())?.members.find((m) => m.alive && m.shards.includes(SHARD))?.id;

    const started = Date.now();
    const handovers: number[] = [];
    const restarts: Promise<void>[] = [];
    let kills = 0;
    let brokerStops = 0;
    let brokerDone: Promise<void> | undefined;
    let nextKill = o.killEveryS > 0 ? o.killEveryS : Infinity;
    while (Date.now() - started < o.seconds * 1000) {
      const elapsed = (Date.now() - started) / 1000;
      if (o.brokerStop && !brokerDone && elapsed >= o.brokerStop.atS) {
        // The node the gateway is on: the worst one to lose.
        const st = (await (await fetch(`http://127.0.0.1:${gwHttp}/api/v1/status`)).json()) as { uplink: { url: string } };
        const node = Math.max(0, nats.urls.indexOf(st.uplink.url));
        brokerStops++;
        brokerDone = nats.stopNode(node).then(() => sleep(o.brokerStop!.forS * 1000)).then(() => nats.startNode(node));
      }
      if (elapsed >= nextKill && kills < (o.maxKills ?? Infinity)) {
        const owner = await ownerOfShard();
        const victim = servers.find((s) => s.id === owner && s.proc);
        // No owner to kill right now (the shard is between owners, or a view failed): try again shortly,
        // and give the turn up after 10 s.
        if (!victim || live().length < 2) {
          if (elapsed >= nextKill + 10) nextKill += o.killEveryS;
        } else {
          nextKill += o.killEveryS;
          await victim.proc!.kill('SIGKILL');
          const killedAt = Date.now();
          victim.proc = undefined;
          kills++;
          restarts.push(
            sleep(o.restartAfterS * 1000).then(() => {
              startServer(victim);
            }),
          );
          // The handover: from the kill until another server holds the shard.
          void until(async () => {
            const now = await ownerOfShard();
            return now !== undefined && now !== victim.id;
          }, 120_000, 250).then((ok) => handovers.push(ok ? Math.round((Date.now() - killedAt) / 100) / 10 : Infinity));
        }
      }
      await sleep(250);
    }
    numbered.stop();
    await Promise.all(restarts);
    await brokerDone;
    await until(() => handovers.length === kills, 130_000, 250);

    // Everything acknowledged by the gateway, then everything out of the outbox and every spool.
    await until(() => numbered.acked.size === numbered.sent, 120_000, 200);
    for (const s of servers) await until(async () => (await fetch(`http://127.0.0.1:${s.http}/readyz`).catch(() => undefined))?.ok === true, 60_000);
    const drained = await until(async () => {
      try {
        const g = (await (await fetch(`http://127.0.0.1:${gwHttp}/api/v1/status`)).json()) as { outbox: { pendingReadings: number; sealedReadings: number } };
        if (g.outbox.pendingReadings + g.outbox.sealedReadings > 0) return false;
        for (const s of servers) {
          const p = (await (await fetch(`http://127.0.0.1:${s.http}/api/v1/pipeline`)).json()) as { tsdb: { spoolReadings: number } };
          if (p.tsdb.spoolReadings > 0) return false;
        }
        return true;
      } catch {
        return false;
      }
    }, 180_000, 500);
    // An Envelope a killed server had taken but not acknowledged comes again after the broker's ack
    // wait (NATS `mqtt.ack_wait`): wait for what is missing until then, and a little more.
    let c = await numbered.count(vm);
    const deadline = Date.now() + 60_000;
    while (c.lost > 0 && Date.now() < deadline) {
      await sleep(2000);
      c = await numbered.count(vm);
    }
    await sleep(1500);
    const { stored, raw, lost } = await numbered.count(vm);

    // Tickets as the shared store holds them: every ticket ever opened, by problem.
    const db = new pg.Client({ connectionString: database });
    await db.connect();
    let tickets = 0;
    let duplicateTickets = 0;
    try {
      const rows = (await db.query<{ dedupe_key: string; n: string }>('SELECT dedupe_key, count(*) AS n FROM ticket GROUP BY dedupe_key')).rows;
      for (const r of rows) {
        tickets += Number(r.n);
        duplicateTickets += Number(r.n) - 1;
      }
    } finally {
      await db.end();
    }
    return {
      sent: numbered.sent,
      acknowledged: numbered.acked.size,
      stored,
      lost,
      duplicates: raw - stored,
      tickets,
      duplicate_tickets: duplicateTickets,
      max_handover_s: handovers.length ? Math.max(...handovers) : 0,
      kills,
      broker_stops: brokerStops,
      handovers_s: handovers,
      tsdb: o.raw ? 'keeps every sample' : 'identical points overwrite',
      drained: drained ? 1 : 0,
    };
  } finally {
    await sensor?.close();
    await gateway?.kill('SIGTERM');
    for (const s of servers) await s.proc?.kill('SIGTERM');
    await nats.destroy();
    await ownPg?.destroy();
    await vm.destroy();
    tmp.cleanup();
  }
}
