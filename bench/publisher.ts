// Publishes prebuilt messages at QoS 1 with a bounded window in flight, then reports timings as one
// JSON line. Runs as its own process so the process under test has the other core.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from 'mqtt';
import { METRIC_IDS, gatewayClientId, gatewayTopic } from '../core/index.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    mode: { type: 'string', default: 'envelope' },
    size: { type: 'string', default: '250' },
    readings: { type: 'string', default: '500000' },
    window: { type: 'string', default: '64' },
    site: { type: 'string', default: 'bench' },
    gateway: { type: 'string', default: 'bench-gw' },
    clients: { type: 'string', default: '1' },
    // fleet mode: this many device-metrics (`metrics` per device, the first of the catalog), each sampled
    // once per minute of sample time; `warmup` rounds are published and acknowledged before the timed part starts.
    series: { type: 'string', default: '1000' },
    metrics: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '20' },
    // sites mode: Envelopes of `sites` gateways (`<gateway>-K` at `<site>-K`, each logging in as itself),
    // taken in turn, so the shards of a cluster share the load.
    sites: { type: 'string', default: '1' },
    // ...or these site ids (comma-separated), the K-th with gateway `<gateway>-K`.
    names: { type: 'string' },
  },
});
const size = Number(values.size);
const total = Number(values.readings);
const window = Number(values.window);
const t0 = Date.now() - 86_400_000;
const bootId = randomUUID();
const DEVICES = 100;

/**
 * Reading n of the load, in the order a gateway sends them: each poll of a device gives all its metrics
 * at one time, together (device ⌊n/10⌋ mod 100, metric n mod 10, a new time every 1,000 readings).
 */
function polled(n: number) {
  const metrics = METRIC_IDS.length;
  return { deviceId: `dev-${Math.floor(n / metrics) % DEVICES}`, metric: METRIC_IDS[n % metrics]!, value: Math.round(Math.random() * 10000) / 100, ts: t0 + Math.floor(n / (DEVICES * metrics)) };
}

function envelopes(): { topic: string; payload: string }[] {
  const out: { topic: string; payload: string }[] = [];
  const topic = gatewayTopic(values.site!, values.gateway!, 'envelope');
  for (let seq = 0; seq * size < total; seq++) {
    const readings = [];
    for (let j = 0; j < size; j++) {
      const n = seq * size + j;
      readings.push(polled(n));
    }
    out.push({ topic, payload: JSON.stringify({ v: 1, site: values.site, gatewayId: values.gateway, bootId, seq, sentAt: Date.now(), readings }) });
  }
  return out;
}

function siteEnvelopes(): { topic: string; payload: string; client: number }[] {
  const names = values.names?.split(',');
  const sites = names?.length ?? Number(values.sites);
  const out: { topic: string; payload: string; client: number }[] = [];
  for (let i = 0; i * size < total; i++) {
    const k = i % sites;
    const seq = Math.floor(i / sites);
    const site = names?.[k] ?? `${values.site}-${k}`;
    const gatewayId = `${values.gateway}-${k}`;
    const readings = [];
    for (let j = 0; j < size; j++) {
      const n = seq * size + j;
      readings.push(polled(n));
    }
    out.push({ topic: gatewayTopic(site, gatewayId, 'envelope'), payload: JSON.stringify({ v: 1, site, gatewayId, bootId, seq, sentAt: Date.now(), readings }), client: k });
  }
  return out;
}

function sensorMessages(): { topic: string; payload: string }[] {
  // A multi-metric transmitter: one JSON object with every catalog metric per sample.
  const out: { topic: string; payload: string }[] = [];
  const perMessage = METRIC_IDS.length;
  for (let i = 0; i * perMessage < total; i++) {
    const sample: Record<string, number> = { ts: t0 + Math.floor(i / DEVICES) };
    for (const m of METRIC_IDS) sample[m] = Math.round(Math.random() * 10000) / 100;
    out.push({ topic: `sensors/dev-${i % DEVICES}`, payload: JSON.stringify(sample) });
  }
  return out;
}

/**
 * Fleet mode: messages made as they are sent (a prebuilt 500,000-series run would not fit in memory).
 * Round k carries every device-metric once, at minute k of sample time, so history minutes close as in
 * a real fleet. The first `warmup` rounds are sent before "start".
 */
function fleetMessages(): { count: number; warm: number; at(i: number): { topic: string; payload: string } } {
  const series = Number(values.series);
  const metrics = METRIC_IDS.slice(0, Number(values.metrics));
  // A healthy machine's levels (so the run measures intake, not a flood of tickets), with 2 % noise.
  const NOMINAL: Record<string, number> = { vibration_rms: 2, vibration_accel_rms: 0.1, vibration_peak: 0.3, vibration_crest: 3, vibration_kurtosis: 3, bearing_temp: 50, motor_temp: 60, ambient_temp: 22, motor_current: 30, speed_rpm: 1480 };
  const perRound = Math.ceil(series / size);
  const timedRounds = Math.max(4, Math.ceil(total / series));
  const topic = gatewayTopic(values.site!, values.gateway!, 'envelope');
  const start = Date.now() - (Number(values.warmup) + timedRounds + 1) * 60_000;
  return {
    count: perRound * (Number(values.warmup) + timedRounds),
    warm: perRound * Number(values.warmup),
    at(seq) {
      const round = Math.floor(seq / perRound);
      const first = (seq % perRound) * size;
      const readings = [];
      for (let n = first; n < Math.min(first + size, series); n++) {
        readings.push({ deviceId: `dev-${Math.floor(n / metrics.length)}`, metric: metrics[n % metrics.length], value: NOMINAL[metrics[n % metrics.length]!]! * (0.98 + ((n * 7 + round * 13) % 41) / 1000), ts: start + round * 60_000 + (n % 1000) });
      }
      return { topic, payload: JSON.stringify({ v: 1, site: values.site, gatewayId: values.gateway, bootId, seq, sentAt: Date.now(), readings }) };
    },
  };
}

const fleet = values.mode === 'fleet' ? fleetMessages() : undefined;
const bySite = values.mode === 'sites';
const prebuilt: { topic: string; payload: string; client?: number }[] = fleet ? [] : values.mode === 'sensor' ? sensorMessages() : bySite ? siteEnvelopes() : envelopes();
const messages: { count: number; warm: number; at(i: number): { topic: string; payload: string; client?: number } } = fleet ?? { count: prebuilt.length, warm: 0, at: (i: number) => prebuilt[i]! };
const clients = bySite
  ? Array.from({ length: values.names?.split(',').length ?? Number(values.sites) }, (_, k) => connect(values.url!, { username: `${values.gateway}-${k}`, password: values.password, clientId: gatewayClientId(`${values.gateway}-${k}`), reconnectPeriod: 0 }))
  : Array.from({ length: Number(values.clients) }, (_, i) =>
      connect(values.url!, { username: values.username, password: values.password, clientId: values.mode === 'sensor' ? `bench-pub-${process.pid}-${i}` : `${gatewayClientId(values.gateway!)}/${process.pid}-${i}`, reconnectPeriod: 0 }),
    );
await Promise.all(clients.map((c) => new Promise((resolve, reject) => (c.once('connect', resolve), c.once('error', reject)))));

let next = 0;
let acked = 0;
/** Sends messages [next, until) with the window in flight; resolves when all are acknowledged. */
const sendUntil = (until: number) =>
  new Promise<void>((resolve) => {
    if (acked >= until) return resolve();
    const send = (c: (typeof clients)[number]) => {
      if (next >= until) return;
      const m = messages.at(next++);
      // In sites mode each Envelope goes out on its own gateway's connection.
      const via = m.client === undefined ? c : clients[m.client]!;
      via.publish(m.topic, m.payload, { qos: 1 }, () => {
        acked++;
        if (acked === until) resolve();
        else send(c);
      });
    };
    clients.forEach((c, i) => {
      for (let k = 0; k < Math.ceil(window / clients.length) || (i === 0 && k === 0); k++) send(c);
    });
  });
if (messages.warm > 0) {
  await sendUntil(messages.warm);
  console.log(JSON.stringify({ event: 'warm', at: Date.now(), messages: messages.warm }));
}
const started = Date.now();
const cpu0 = process.cpuUsage();
console.log(JSON.stringify({ event: 'start', at: started, messages: messages.count - messages.warm }));
await sendUntil(messages.count);
const cpu = process.cpuUsage(cpu0);
// The publisher's own CPU over the timed part (not its start-up or the Envelopes it built before).
console.log(JSON.stringify({ event: 'acked', at: Date.now(), ms: Date.now() - started, cpuMs: Math.round((cpu.user + cpu.system) / 1000) }));
await Promise.all(clients.map((c) => c.endAsync()));
