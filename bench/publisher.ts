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
  },
});
const size = Number(values.size);
const total = Number(values.readings);
const window = Number(values.window);
const t0 = Date.now() - 86_400_000;
const bootId = randomUUID();
const DEVICES = 100;

function envelopes(): { topic: string; payload: string }[] {
  const out: { topic: string; payload: string }[] = [];
  const topic = gatewayTopic(values.site!, values.gateway!, 'envelope');
  for (let seq = 0; seq * size < total; seq++) {
    const readings = [];
    for (let j = 0; j < size; j++) {
      const n = seq * size + j;
      readings.push({ deviceId: `dev-${n % DEVICES}`, metric: METRIC_IDS[Math.floor(n / DEVICES) % METRIC_IDS.length], value: Math.round(Math.random() * 10000) / 100, ts: t0 + Math.floor(n / (DEVICES * METRIC_IDS.length)) });
    }
    out.push({ topic, payload: JSON.stringify({ v: 1, site: values.site, gatewayId: values.gateway, bootId, seq, sentAt: Date.now(), readings }) });
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

const messages = values.mode === 'sensor' ? sensorMessages() : envelopes();
const clients = Array.from({ length: Number(values.clients) }, (_, i) =>
  connect(values.url!, { username: values.username, password: values.password, clientId: values.mode === 'sensor' ? `bench-pub-${process.pid}-${i}` : `${gatewayClientId(values.gateway!)}/${process.pid}-${i}`, reconnectPeriod: 0 }),
);
await Promise.all(clients.map((c) => new Promise((resolve, reject) => (c.once('connect', resolve), c.once('error', reject)))));

const started = Date.now();
console.log(JSON.stringify({ event: 'start', at: started, messages: messages.length }));
let next = 0;
let acked = 0;
await new Promise<void>((resolve) => {
  const send = (c: (typeof clients)[number]) => {
    if (next >= messages.length) return;
    const m = messages[next++]!;
    c.publish(m.topic, m.payload, { qos: 1 }, () => {
      acked++;
      if (acked === messages.length) resolve();
      else send(c);
    });
  };
  clients.forEach((c, i) => {
    for (let k = 0; k < Math.ceil(window / clients.length) || (i === 0 && k === 0); k++) send(c);
  });
});
console.log(JSON.stringify({ event: 'acked', at: Date.now(), ms: Date.now() - started }));
await Promise.all(clients.map((c) => c.endAsync()));
