import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { SHARD_COUNT, shardOf } from '../core/index.ts';
import { VigilProcess } from '../test/helpers/child.ts';
import { Mosquitto } from '../test/helpers/mosquitto.ts';
import { freePort } from '../test/helpers/net.ts';
import { Postgres } from '../test/helpers/postgres.ts';
import type { Victoria } from '../test/helpers/victoria.ts';
import { publish, until } from './publish.ts';

const SERVER = { username: 'vigil-server', password: 'bench-server-password' };
const GATEWAY_PASSWORD = 'bench-password';

/** One site per shard (`wsite-N`, the first name that lands on each), so N workers get equal shares of the load. */
export function sitePerShard(): string[] {
  const sites: string[] = new Array<string>(SHARD_COUNT);
  let found = 0;
  for (let n = 0; found < SHARD_COUNT; n++) {
    const site = `wsite-${n}`;
    const s = shardOf(site);
    if (sites[s] === undefined) {
      sites[s] = site;
      found++;
    }
  }
  return sites;
}

/** CPU seconds a process has used (Linux: utime + stime from /proc, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(after[11]) + Number(after[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has been busy (every core; /proc/stat, clock ticks of 1/100 s): what is not idle or waiting on I/O. */
function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Samples VictoriaMetrics has taken in through the InfluxDB write API (its own counter: no query, no lag). */
async function vmInserted(vm: Victoria): Promise<number> {
  const text = await (await fetch(`${vm.url}/metrics`)).text();
  const m = /^vm_rows_inserted_total\{type="influx"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * `vigil server --workers N` as operators run it: an external broker (Mosquitto), leased shards on
 * PostgreSQL, rules on, the TSDB write to VictoriaMetrics. 64 gateways (one site per shard) publish
 * `readings` readings in Envelopes of `size` from a separate process; the figure is readings per second
 * from the first publish until VictoriaMetrics has taken them all.
 */
export interface WorkersRun {
  workers: number;
  readingsPerS: number;
  seconds: number;
  workerCpuPct: number;
  readingsPerWorkerCpuS: number;
  /** Percent of one core the whole machine was busy (200 = both cores of a 2-core machine). */
  machineCpuPct: number;
  /**
   * CPU microseconds per reading, by part: the workers, the TSDB (VictoriaMetrics), the broker
   * (Mosquitto), the publisher, and the rest (PostgreSQL, this benchmark's polling, the system).
   */
  cpuUsPerReading: { workers: number; tsdb: number; broker: number; publisher: number; rest: number };
}

export async function benchWorkers(dir: string, vm: Victoria, workers: number[], readings: number, size = 500): Promise<WorkersRun[]> {
  const sites = sitePerShard();
  const gateways = sites.map((_, k) => `wgw-${k}`);
  const acl = `user ${SERVER.username}\ntopic read vigil/v1/#\n\npattern write vigil/v1/+/+/%u/envelope\n`;
  const broker = await new Mosquitto([SERVER, ...gateways.map((g) => ({ username: g, password: GATEWAY_PASSWORD }))], acl).start();
  const db = await new Postgres().start();
  const out: WorkersRun[] = [];
  try {
    for (const [i, n] of workers.entries()) {
      const name = `workers_${n}_${i}`;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      const http = await freePort();
      const config = join(dir, `workers-${i}.yaml`);
      writeFileSync(
        config,
        JSON.stringify({
          version: 1,
          dataDir: join(dir, `workers-${i}`),
          database: { url: url.toString() },
          http: { host: '127.0.0.1', port: http, requireAuth: false },
          // One client id for every run: the next run resumes the shard sessions the last one drained, and
          // no left-over session keeps queueing copies of the load.
          broker: { mode: 'external', url: broker.url, username: SERVER.username, password: '${BENCH_BROKER_PASSWORD}', clientId: 'bench', shards: 'leased' },
          cluster: { memberId: 'bench' },
          sinks: [{ kind: 'influxdb', url: vm.url, org: 'vigil', bucket: `workers-${n}` }],
        }),
      );
      const proc = new VigilProcess(['server', '-c', config, '--workers', String(n)], { BENCH_BROKER_PASSWORD: SERVER.password, VIGIL_LOG_LEVEL: 'error' }).start();
      try {
        // Every worker holds its even share before the clock starts.
        let pids: number[] = [];
        await until(async () => {
          const r = await fetch(`http://127.0.0.1:${http}/api/v1/cluster`).catch(() => undefined);
          if (!r?.ok) return false;
          const c = (await r.json()) as { members: { alive: boolean; pid: number; shards: number[] }[]; unowned: number[] };
          const alive = c.members.filter((m) => m.alive);
          pids = alive.map((m) => m.pid);
          return alive.length === n && c.unowned.length === 0 && alive.every((m) => m.shards.length === SHARD_COUNT / n);
        }, 120_000);
        const before = await vmInserted(vm);
        const pub = publish({ url: broker.url, mode: 'sites', names: sites.join(','), gateway: 'wgw', password: GATEWAY_PASSWORD, size, readings, window: 256 });
        // Counted from the publisher's timed part on: building its Envelopes before is not the pipeline's work.
        if ((await pub.started) === 0) await pub; // the publisher failed: its error, not a wait for readings
        const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
        const tsdb0 = vm.pid ? cpuSeconds(vm.pid) : 0;
        const broker0 = broker.pid ? cpuSeconds(broker.pid) : 0;
        const machine0 = machineBusySeconds();
        // Polled every 250 ms (about 2 % of a 10 s run): reading VictoriaMetrics' metrics page more often
        // took a tenth of a core from the processes measured.
        const deadline = Date.now() + 600_000;
        while ((await vmInserted(vm)) - before < readings) {
          if (Date.now() > deadline) throw new Error(`workers ${n}: readings did not all arrive`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const end = Date.now();
        const cpu = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
        const tsdb = (vm.pid ? cpuSeconds(vm.pid) : 0) - tsdb0;
        const brokerCpu = (broker.pid ? cpuSeconds(broker.pid) : 0) - broker0;
        const machine = machineBusySeconds() - machine0;
        const { start, cpuMs } = await pub;
        const seconds = (end - start) / 1000;
        const publisher = cpuMs / 1000;
        const us = (s: number) => Number(((s / readings) * 1e6).toFixed(2));
        // What the workers used of the machine: if readings per worker CPU-second stay level from 1 to 2
        // workers, nothing is lost between them, and the rest is the cores the other parts take.
        out.push({
          workers: n,
          readingsPerS: Math.round(readings / seconds),
          seconds,
          workerCpuPct: Math.round((cpu / seconds) * 100),
          readingsPerWorkerCpuS: Math.round(readings / cpu),
          machineCpuPct: Math.round((machine / seconds) * 100),
          cpuUsPerReading: { workers: us(cpu), tsdb: us(tsdb), broker: us(brokerCpu), publisher: us(publisher), rest: us(Math.max(0, machine - cpu - tsdb - brokerCpu - publisher)) },
        });
      } finally {
        await proc.kill('SIGTERM');
      }
    }
  } finally {
    await broker.destroy();
    await db.destroy();
  }
  return out;
}
