import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { type Reading, gatewayTopic } from '../../core/index.ts';
import { freshDatabase } from './engines.ts';
import { Mosquitto } from './mosquitto.ts';
import { waitFor } from './net.ts';
import { type ServerHandle, startServer } from './pipeline.ts';
import { tempDir } from './tmp.ts';

const ACL = readFileSync(new URL('../../examples/mosquitto/acl', import.meta.url), 'utf8');
const SERVER = { username: 'vigil-server', password: 'server-secret-for-tests' };

/**
 * Two servers, `a` and `b`, sharing the 64 shards through leases on a fresh PostgreSQL database and
 * shard sessions on Mosquitto (the example's ACL), 32 each, and gateway `gw-1` allowed to publish for
 * any site. `options` go to both servers (startServer's http, rules, env, ...).
 */
export class TwoServers {
  private readonly tmp = tempDir();
  private readonly broker = new Mosquitto([{ username: 'gw-1', password: 'gw-password' }, SERVER], ACL);
  readonly servers: ServerHandle[] = [];
  private gw: MqttClient | undefined;
  private seq = 0;

  constructor(
    private readonly options: Omit<Parameters<typeof startServer>[0], 'dataDir' | 'external' | 'database' | 'cluster'> & { fleetShareEvery?: string } = {},
    private readonly token?: string,
  ) {}

  get a(): ServerHandle {
    return this.servers[0]!;
  }

  get b(): ServerHandle {
    return this.servers[1]!;
  }

  async start(): Promise<this> {
    await this.broker.start();
    const url = await freshDatabase('two_servers');
    const { fleetShareEvery, ...rest } = this.options;
    for (const memberId of ['a', 'b']) {
      this.servers.push(
        await startServer({
          ...rest,
          dataDir: join(this.tmp.dir, memberId),
          external: { url: this.broker.url, ...SERVER },
          database: url,
          cluster: { memberId, failoverAfter: '2s', ...(fleetShareEvery ? { fleetShareEvery } : {}) },
        }),
      );
    }
    await waitFor(async () => (await this.members()).every((m) => m.shards.length === 32), { message: 'shards balanced 32/32', timeoutMs: 15_000 });
    const gw = connect(this.broker.url, { username: 'gw-1', password: 'gw-password', clientId: 'gw-1' });
    await new Promise((r) => gw.once('connect', r));
    this.gw = gw;
    return this;
  }

  /** The cluster's members as `GET /api/v1/cluster` on b lists them. */
  async members(): Promise<{ id: string; shards: number[] }[]> {
    const r = await fetch(`${this.b.httpUrl}/api/v1/cluster`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    return ((await r.json()) as { members: { id: string; shards: number[] }[] }).members;
  }

  /** The shards member `id` holds. */
  async shardsOf(id: 'a' | 'b'): Promise<number[]> {
    return (await this.members()).find((m) => m.id === id)?.shards ?? [];
  }

  /** One Envelope from gw-1 for `site`, QoS 1. */
  send(site: string, readings: Reading[]): Promise<unknown> {
    const env = { v: 1, site, gatewayId: 'gw-1', bootId: `boot-${site}`, seq: this.seq++, sentAt: Date.now(), readings };
    return this.gw!.publishAsync(gatewayTopic(site, 'gw-1', 'envelope'), JSON.stringify(env), { qos: 1 });
  }

  async destroy(): Promise<void> {
    await this.gw?.endAsync();
    for (const s of this.servers) await s.server.stop().catch(() => undefined);
    await this.broker.destroy();
    this.tmp.cleanup();
  }
}
