import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'mqtt';
import { requireBinary, stopProcess } from './binaries.ts';
import { freePort, waitFor } from './net.ts';
import { tempDir } from './tmp.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/nats/', import.meta.url));

/** The logins of `examples/nats/vigil-users.conf`. */
export const NATS_SERVER_USER = { username: 'vigil-server', password: 'change-me-server' };
export const NATS_GATEWAY_USER = { username: 'gw-1', password: 'change-me-gw-1' };

interface Node {
  name: string;
  client: number;
  cluster: number;
  mqtt: number;
  http: number;
  proc?: ChildProcess;
  log: string;
}

/**
 * A NATS cluster (Debian `nats-server`) on loopback, each node started from the repository's own
 * `examples/nats/` config (its users included) with its ports in the environment, as the example tells
 * operators to do. MQTT sessions, QoS 1 messages and retained messages are JetStream streams with a replica
 * on every node.
 */
export class NatsCluster {
  private readonly tmp = tempDir('vigil-nats-');
  private readonly nodes: Node[] = [];

  constructor(private readonly size = 3) {}

  /** The MQTT URL of each node. */
  get urls(): string[] {
    return this.nodes.map((n) => `mqtt://127.0.0.1:${n.mqtt}`);
  }

  async start(): Promise<this> {
    requireBinary('/usr/sbin/nats-server', 'nats-server');
    for (let i = 0; i < this.size; i++) {
      this.nodes.push({ name: `nats-${i + 1}`, client: await freePort(), cluster: await freePort(), mqtt: await freePort(), http: await freePort(), log: '' });
    }
    // The example includes its users file from beside itself.
    for (const f of ['vigil-node.conf', 'vigil-users.conf']) writeFileSync(join(this.tmp.dir, f), readFileSync(join(EXAMPLE, f), 'utf8'));
    await Promise.all(this.nodes.map((_, i) => this.startNode(i, false)));
    await this.ready();
    return this;
  }

  /** Starts node `i` again (after stopNode) and waits until it serves MQTT. */
  async startNode(i: number, wait = true): Promise<void> {
    const n = this.nodes[i]!;
    const store = join(this.tmp.dir, n.name);
    mkdirSync(store, { recursive: true });
    const routes = Object.fromEntries(this.nodes.map((m, k) => [`VIGIL_NATS_ROUTE_${k + 1}`, `nats://127.0.0.1:${m.cluster}`]));
    const env = {
      ...process.env,
      ...routes,
      VIGIL_NATS_NAME: n.name,
      VIGIL_NATS_CLIENT: `127.0.0.1:${n.client}`,
      VIGIL_NATS_MQTT: `127.0.0.1:${n.mqtt}`,
      VIGIL_NATS_HTTP: `127.0.0.1:${n.http}`,
      VIGIL_NATS_CLUSTER: `127.0.0.1:${n.cluster}`,
      VIGIL_NATS_STORE: store,
    };
    const proc = spawn('/usr/sbin/nats-server', ['-c', join(this.tmp.dir, 'vigil-node.conf')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    n.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => (n.log = (n.log + d.toString()).slice(-4000)));
    if (wait) await this.ready([i]);
  }

  /** Stops node `i` (SIGTERM, or `SIGKILL` for a crash); the others keep the sessions. */
  async stopNode(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = this.nodes[i]!;
    const p = n.proc;
    n.proc = undefined;
    await stopProcess(p, signal);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.stopNode(i)));
    this.tmp.cleanup();
  }

  /** Waits until each node's JetStream is healthy and its MQTT listener takes a login. */
  private async ready(which = this.nodes.map((_, i) => i)): Promise<void> {
    const probe = NATS_SERVER_USER;
    for (const i of which) {
      const n = this.nodes[i]!;
      await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${n.http}/healthz?js-enabled-only=true`).catch(() => undefined);
          return r?.status === 200;
        },
        { timeoutMs: 30_000, message: `${n.name} did not become healthy: ${n.log}` },
      );
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const c = connect(`mqtt://127.0.0.1:${n.mqtt}`, { username: probe.username, password: probe.password, reconnectPeriod: 0, connectTimeout: 5000 });
            let ok = false;
            c.once('connect', () => {
              ok = true;
              c.end(true);
            });
            c.once('close', () => resolve(ok));
          }),
        { timeoutMs: 30_000, message: `${n.name} did not take MQTT logins: ${n.log}` },
      );
    }
  }
}
