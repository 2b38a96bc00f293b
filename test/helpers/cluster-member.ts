// A cluster member in its own process, so a test can SIGKILL it:
//   node --import tsx test/helpers/cluster-member.ts ID PG_URL BROKER_URL TTL_MS
// Prints `started N` (shards held after its first round) and `took <payload>` for each message.
import { PostgresSql, silentLogger } from '../../core/index.ts';
import { ClusterNode, ShardLeases, ShardSubscriber } from '../../server/cluster/index.ts';

const [id, url, brokerUrl, ttl] = process.argv.slice(2) as [string, string, string, string];
const sql = new PostgresSql({ url, pool: 4 });
const subscriber = new ShardSubscriber(
  { url: brokerUrl, username: 'vigil-server', password: 'server-password', clientIdPrefix: 'cluster-test' },
  { accept: async (_t, payload) => void process.stdout.write(`took ${payload.toString()}\n`) },
  silentLogger(),
);
const leases = await ShardLeases.open(sql, { member: { id, host: 'localhost', pid: process.pid }, ttlMs: Number(ttl) }, ClusterNode.events(() => node));
const node: ClusterNode = new ClusterNode(leases, subscriber, {}, { roundEveryMs: Number(ttl) / 3, ttlMs: Number(ttl) }, silentLogger());
await node.start();
process.stdout.write(`started ${subscriber.shards().length}\n`);
