import cluster, { type Worker } from 'node:cluster';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { type Logger, type MetricsJson, type Registry, mergeLabelled, secretKeyOrFile } from '../core/index.ts';
import type { ServerConfig } from './config.ts';

/** The environment variable that tells a forked process which worker it is. */
export const WORKER_ENV = 'VIGIL_WORKER';

/**
 * How many shard-owning processes `vigil server` runs: `--workers N`, or by default one per core when
 * the shards are leased (workers share them like servers do) and one otherwise. Returns a message for
 * a count that cannot work.
 */
export function workerCount(config: ServerConfig, flag: string | undefined): number | string {
  const leased = config.broker.mode === 'external' && config.broker.shards === 'leased';
  if (flag === undefined) return leased ? Math.min(availableParallelism(), 64) : 1;
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1 || n > 64) return `--workers: a whole number from 1 to 64, not ${JSON.stringify(flag)}`;
  if (n > 1 && !leased) return '--workers needs broker.shards: leased (an external broker and database.url): the workers share the shards through leases, like servers';
  return n;
}

/** A worker's config: its own member id and data directory (spool, ledger) beside the others'. */
export function workerConfig(config: ServerConfig, index: number): ServerConfig {
  return {
    ...config,
    dataDir: join(config.dataDir, `worker-${index}`),
    cluster: { ...config.cluster, memberId: `${config.cluster.memberId ?? hostname()}-w${index}` },
  };
}

/** Whether this process is a worker forked by {@link runWorkers}, and which. */
export function workerIndex(env: Record<string, string | undefined>): number | undefined {
  return cluster.isWorker && env[WORKER_ENV] !== undefined ? Number(env[WORKER_ENV]) : undefined;
}

/**
 * The primary of `vigil server --workers N`: forks N copies of this command, each a cluster member that
 * takes its share of the shards, all listening on the one HTTP port (each accepting from the shared
 * socket). A worker that dies is started again; it resumes its shards' state from
 * the store like any server. SIGTERM stops them all. Every worker seals secrets with one key: the
 * environment's, or the primary's `secret.key`.
 */
export async function runWorkers(config: ServerConfig, n: number, env: Record<string, string | undefined>, log: Logger, stopped: Promise<NodeJS.Signals>): Promise<void> {
  const key = secretKeyOrFile(env.VIGIL_SECRET_KEY, join(config.dataDir, 'secret.key')).key;
  let stopping = false;
  const restarts = new Map<number, number>();
  const live = new Map<number, Worker>();
  primaryMetrics(() => live);
  // Each worker accepts from the shared socket itself. Node's default (the primary accepts and hands
  // each connection on) loses a connection handed to a worker that has just died: the primary keeps
  // it open, unread, and the client waits until its own timeout. Uneven spreading of API connections
  // costs nothing here, the shards spread the work.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const fork = (i: number) => {
    const w = cluster.fork({ [WORKER_ENV]: String(i), VIGIL_SECRET_KEY: key });
    live.set(i, w);
    w.on('exit', (code, signal) => {
      if (live.get(i) === w) live.delete(i);
      if (stopping) return;
      // Back off a worker that keeps dying (a bad config would otherwise spin).
      const k = (restarts.get(i) ?? 0) + 1;
      restarts.set(i, k);
      const delay = Math.min(30_000, 500 * 2 ** Math.min(k, 6));
      log.error({ worker: i, code, signal, restartInMs: delay }, 'worker exited; starting it again');
      setTimeout(() => {
        if (!stopping) fork(i);
      }, delay).unref();
    });
    w.on('listening', () => restarts.set(i, 0));
  };
  for (let i = 0; i < n; i++) fork(i);
  log.info({ workers: n }, 'server workers started');
  const sig = await stopped;
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', () => resolve());
          w.process.kill(sig === 'SIGINT' ? 'SIGTERM' : sig);
        }),
    ),
  );
}

// `/metrics` behind the shared port: whichever worker takes the scrape asks the primary, which asks
// every worker for its registry and answers with all their series, each labelled `worker`. A scrape
// that met one worker at random would show a different process's counters each time.
const ASK = 'vigil:metrics?';
const GATHER = 'vigil:metrics-gather';
const GATHERED = 'vigil:metrics-gathered';
const ANSWER = 'vigil:metrics!';
interface Message {
  type: string;
  id: number;
  metrics?: MetricsJson;
  text?: string;
}

/** In a worker: answers the primary's gathering with this registry, and returns the `/metrics` function that asks for all. */
export function workerMetrics(registry: Registry, timeoutMs = 2000): () => Promise<string> {
  const waiting = new Map<number, (text: string) => void>();
  let next = 0;
  process.on('message', (m: Message) => {
    if (m?.type === GATHER) void registry.getMetricsAsJSON().then((metrics) => process.send?.({ type: GATHERED, id: m.id, metrics }));
    else if (m?.type === ANSWER) waiting.get(m.id)?.(m.text ?? '');
  });
  return () =>
    new Promise<string>((resolve) => {
      const id = next++;
      // The primary not answering (it is stopping) must not hang a scrape: this worker's own then.
      const timer = setTimeout(() => {
        waiting.delete(id);
        void registry.metrics().then(resolve);
      }, timeoutMs);
      waiting.set(id, (text) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(text);
      });
      process.send?.({ type: ASK, id });
    });
}

/** In the primary: gathers every live worker's metrics (waiting at most `timeoutMs` for each) and labels them by worker. */
export function primaryMetrics(workers: () => Map<number, Worker>, timeoutMs = 1500): void {
  let next = 0;
  const gather = async (): Promise<string> => {
    const parts = await Promise.all(
      [...workers()].map(
        ([index, w]) =>
          new Promise<{ labels: Record<string, string>; metrics: MetricsJson }>((resolve) => {
            const id = next++;
            const labels = { worker: String(index) };
            const timer = setTimeout(() => (w.off('message', on), resolve({ labels, metrics: [] })), timeoutMs);
            const on = (m: Message) => {
              if (m?.type !== GATHERED || m.id !== id) return;
              clearTimeout(timer);
              w.off('message', on);
              resolve({ labels, metrics: m.metrics ?? [] });
            };
            w.on('message', on);
            w.send({ type: GATHER, id });
          }),
      ),
    );
    return mergeLabelled(parts);
  };
  cluster.on('message', (w, m: Message) => {
    if (m?.type !== ASK) return;
    void gather().then(
      (text) => w.isConnected() && w.send({ type: ANSWER, id: m.id, text }),
      () => w.isConnected() && w.send({ type: ANSWER, id: m.id, text: '' }),
    );
  });
}
