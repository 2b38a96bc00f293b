import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTopic, shardOf, silentLogger } from '../../core/index.ts';
import { ShardSubscriber } from '../../server/cluster/shard-subscriber.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';

const SITE = 'plant-a';
const SHARD = shardOf(SITE);
const TOPIC = gatewayTopic(SITE, 'gw-1', 'envelope');

/** A sink that records what it made durable; `hold` keeps writes pending (a server that is slow, then dies). */
function sink() {
  const durable: number[] = [];
  let hold = false;
  const pending: (() => void)[] = [];
  return {
    durable,
    set hold(v: boolean) {
      hold = v;
    },
    pending,
    accept(_topic: string, payload: Buffer): Promise<void> {
      const n = Number(payload.toString());
      if (!hold) {
        durable.push(n);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => pending.push(() => (durable.push(n), resolve())));
    },
  };
}

// A shard's messages live in the shard's own persistent session on the broker, whichever server owns it:
// handed over cleanly, killed mid-write, or owned by nobody for a while, no message is lost.
describe('shard sessions on Mosquitto', () => {
  const broker = new Mosquitto(
    [
      { username: 'vigil-server', password: 'server-password' },
      { username: 'gw-1', password: 'gw-password' },
    ],
    'user vigil-server\ntopic readwrite vigil/#\n\nuser gw-1\ntopic write vigil/v1/+/plant-a/gw-1/#\n',
  );
  let gw: MqttClient;
  let sent = 0;
  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) await gw.publishAsync(TOPIC, String(sent++), { qos: 1 });
  };
  const server = (s: ReturnType<typeof sink>) => new ShardSubscriber({ url: broker.url, username: 'vigil-server', password: 'server-password', clientIdPrefix: 'test' }, s, silentLogger());

  beforeAll(async () => {
    await broker.start();
    gw = connect(broker.url, { username: 'gw-1', password: 'gw-password', clientId: 'gw-1' });
    await new Promise((r) => gw.once('connect', r));
  });
  afterAll(async () => {
    await gw?.endAsync();
    await broker.destroy();
  });

  it('keeps the messages sent while nobody owns the shard for the next owner, and loses none across owners', async () => {
    const a = sink();
    const srvA = server(a);
    await srvA.take(SHARD);
    expect(srvA.shards()).toEqual([SHARD]);
    await publish(100);
    await waitFor(() => a.durable.length === 100, { message: 'the first owner took 100' });
    await srvA.release(SHARD);

    await publish(100); // nobody owns the shard now

    const b = sink();
    const srvB = server(b);
    await srvB.take(SHARD);
    await waitFor(() => b.durable.length === 100, { message: 'the next owner got what was queued' });
    expect(b.durable).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));

    // B stalls with writes pending, then dies: what it never acknowledged goes to the next owner.
    b.hold = true;
    await publish(50);
    await waitFor(() => b.pending.length > 0, { message: 'B has writes pending' });
    await srvB.drop(SHARD);
    const c = sink();
    const srvC = server(c);
    await srvC.take(SHARD);
    await waitFor(() => new Set([...a.durable, ...b.durable, ...c.durable]).size === sent, { message: 'every message durable somewhere' });
    // Nothing lost: what B held unacknowledged came again to C (the intake's dedupe recognises a repeat).
    expect(c.durable.length).toBeGreaterThanOrEqual(50 - b.durable.filter((n) => n >= 200).length);
    expect(Math.min(...c.durable)).toBe(200);
    await srvC.stop();
  });
});
