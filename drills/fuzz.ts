import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { SerialPort } from 'serialport';
import { ConfigError, createRegistry, gatewayTopic, openApiDocument, parseConfig, parseConfigText, silentLogger, systemClock, timeWindow } from '../core/index.ts';
import { GatewayConfigSchema } from '../gateway/index.ts';
import { parsePayload } from '../gateway/drivers/mqtt-device/index.ts';
import { crcOk, mbapFrame, parseReadResponse, rtuFrame } from '../gateway/modbus/frames.ts';
import { RtuTransport } from '../gateway/modbus/rtu-transport.ts';
import { TcpTransport } from '../gateway/modbus/tcp-transport.ts';
import { ServerConfigSchema, buildServer } from '../server/index.ts';
import { CsvError, parseReadingsCsv } from '../rules/backtest/csv.ts';
import { SerialPair } from '../test/helpers/modbus.ts';
import { tempDir } from '../test/helpers/tmp.ts';

/**
 * Generated hostile input at every parser and boundary: a crash is an exception where the code
 * promised an answer (a rejection, a ConfigError, a 4xx); a hang is a case that took over a second.
 * Good readings go through the intake between the bad ones and must all be taken.
 */
export interface FuzzResult {
  cases: number;
  crashes: number;
  hangs: number;
  good_sent: number;
  good_stored: number;
  by_target: Record<string, number>;
  first_crashes: string[];
}

const HANG_MS = 1000;

export async function fuzzDrill(o: { cases: number; seed?: number }): Promise<FuzzResult> {
  const seed = o.seed ?? Date.now() % 2 ** 31;
  const tmp = tempDir('vigil-fuzz-');
  const registry = createRegistry();
  const server = await buildServer(
    parseConfig(ServerConfigSchema, { version: 1, dataDir: join(tmp.dir, 'server'), http: { port: 0, requireAuth: false }, broker: { mode: 'embedded', port: 0 } }, {}),
    { log: silentLogger(), clock: systemClock, registry },
  );
  await server.start();
  const result: FuzzResult = { cases: 0, crashes: 0, hangs: 0, good_sent: 0, good_stored: 0, by_target: {}, first_crashes: [] };
  const crash = (target: string, input: unknown, err: unknown) => {
    result.crashes++;
    if (result.first_crashes.length < 10) result.first_crashes.push(`${target}: ${String((err as Error)?.stack ?? err).slice(0, 400)} input=${JSON.stringify(input)?.slice(0, 200)} seed=${seed}`);
  };
  const timed = async (target: string, input: unknown, fn: () => unknown | Promise<unknown>) => {
    const t = performance.now();
    try {
      await fn();
    } catch (err) {
      crash(target, input, err);
    }
    if (performance.now() - t > HANG_MS) result.hangs++;
    result.cases++;
    result.by_target[target] = (result.by_target[target] ?? 0) + 1;
  };
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] => fc.sample(arb, { numRuns: n, seed: seed + salt });
  const share = (w: number) => Math.max(1, Math.floor(o.cases * w));
  const BATCH = 2000;
  const batches = async <T>(arb: fc.Arbitrary<T>, n: number, salt: number, run: (x: T) => unknown | Promise<unknown>) => {
    for (let done = 0, b = 0; done < n; done += BATCH, b++) for (const x of sample(arb, Math.min(BATCH, n - done), salt * 1000 + b)) await run(x);
  };

  const anyBytes = fc.oneof(
    fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
    fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  );
  const now = Date.now();
  const window = timeWindow(now, 400 * 86_400_000, 300_000);
  const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.MAX_VALUE, -0, 1e308, 5e-324), fc.string({ maxLength: 10 }));
  const ts = fc.oneof(fc.integer({ min: now - 86_400_000, max: now }), fc.double(), fc.string({ maxLength: 30 }), fc.constant(null));
  const metric = fc.oneof(fc.constantFrom('vibration_rms', 'bearing_temp', 'vibration_kurtosis', 'motor_temp'), fc.string({ maxLength: 20 }));
  const reading = fc.record({ deviceId: fc.oneof(fc.constantFrom('pump-1', 'fan-2'), fc.string({ maxLength: 70 })), metric, value: num, ts, unit: fc.option(fc.string({ maxLength: 8 })), quality: fc.option(fc.string({ maxLength: 10 })) }, { requiredKeys: [] });

  // 1. Sensor payloads (the site broker's parser).
  const sensorObject = fc.dictionary(metric, fc.oneof(num, fc.record({ value: num, unit: fc.string({ maxLength: 5 }), ts })), { maxKeys: 6 }).chain((d) => fc.record({ d: fc.constant(d), ts }));
  await batches(fc.oneof(anyBytes, sensorObject.map((x) => Buffer.from(JSON.stringify({ ...x.d, ts: x.ts })))), share(0.3), 1, (p) =>
    timed('sensor_payload', p.toString('utf8').slice(0, 200), () => {
      parsePayload(p, { deviceId: 'pump-1', metric: undefined }, now, window);
      parsePayload(p, { deviceId: 'pump-1', metric: 'vibration_rms' }, now, window);
    }),
  );

  // 2. Envelopes into the intake, with a good one after every hundred bad ones.
  let seq = 0;
  const topic = gatewayTopic('fuzz', 'gw-fuzz', 'envelope');
  const envelope = fc.record({ v: fc.oneof(fc.constant(1), num), site: fc.oneof(fc.constant('fuzz'), fc.string()), gatewayId: fc.oneof(fc.constant('gw-fuzz'), fc.string()), bootId: fc.string({ maxLength: 40 }), seq: num, sentAt: num, readings: fc.array(reading, { maxLength: 20 }) }, { requiredKeys: [] });
  let i = 0;
  await batches(fc.oneof(anyBytes, envelope.map((e) => Buffer.from(JSON.stringify(e)))), share(0.25), 2, async (p) => {
    await timed('envelope', p.toString('utf8').slice(0, 200), () => server.intake.accept(topic, p));
    if (++i % 100 === 0) {
      const good = { v: 1, site: 'fuzz', gatewayId: 'gw-fuzz', bootId: `good-${seed}`, seq: seq++, sentAt: now, readings: [{ deviceId: 'good-1', metric: 'bearing_temp', value: 40 + (seq % 10), ts: now - 60_000 + seq }] };
      await server.intake.accept(topic, Buffer.from(JSON.stringify(good)));
      result.good_sent++;
    }
  });
  result.good_stored = server.devices.list().find((d) => d.deviceId === 'good-1') ? await goodStored() : 0;
  async function goodStored(): Promise<number> {
    // Every good Envelope carries one reading of good-1; the ingested counter includes the fuzzed
    // Envelopes' valid readings, so count good-1's readings through the history instead.
    await server.history.flushAll();
    let n = 0;
    for (const r of await server.history.rows({ from: 0, to: now + 86_400_000, devices: ['good-1'], metrics: ['bearing_temp'] })) n += r.count;
    return n;
  }

  // 3. CSV for replay and backtests.
  const csvLine = fc.array(fc.oneof(fc.string({ maxLength: 20 }), num.map(String), fc.constantFrom('ts', 'device', 'metric', 'value', '"', '""', ',', '\r')), { maxLength: 6 }).map((c) => c.join(','));
  await batches(fc.oneof(fc.string({ maxLength: 500 }), fc.array(csvLine, { maxLength: 20 }).map((l) => ['ts,device,metric,value', ...l].join('\n'))), share(0.1), 3, (text) =>
    timed('csv', text, () => {
      try {
        parseReadingsCsv(text);
      } catch (err) {
        if (!(err instanceof CsvError)) throw err;
      }
    }),
  );

  // 4. YAML configs (gateway and server) and rulesets.
  const yamlish = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.record({ version: num, site: fc.string(), gatewayId: fc.string(), drivers: fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }), uplink: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    fc.constantFrom('a: &a [*a]', 'x: !!binary zz', '? [a]\n: 1', 'a: ${', '{{{', 'version: 1\nbroker: {mode: embedded, port: 99999}'),
  );
  await batches(yamlish, share(0.1), 4, (text) =>
    timed('yaml_config', text, () => {
      for (const schema of [GatewayConfigSchema, ServerConfigSchema]) {
        try {
          parseConfigText(schema, text, {}, 'fuzz');
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
        }
      }
    }),
  );
  await batches(yamlish, share(0.05), 5, (text) => timed('ruleset', text, () => server.rules.validate(text)));

  // 5. Every API body and query, as the router sees them.
  const doc = openApiDocument(server.http, { title: 'fuzz', version: '1' }) as { paths: Record<string, Record<string, unknown>> };
  // Not fuzzed: creating webhook subscriptions (a generated URL would send deliveries off this machine).
  const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path }))).filter((r) => !(r.method === 'POST' && r.path === '/api/v1/webhooks'));
  const call = fc.record({ route: fc.constantFrom(...routes), id: fc.oneof(fc.integer(), fc.string({ maxLength: 20 })), query: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }), body: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 100 })) });
  await batches(call, share(0.15), 6, (c) =>
    timed('api', c, async () => {
      const path = c.route.path.replace(/\{[^}]+\}/g, encodeURIComponent(String(c.id)));
      if (path.endsWith('/stream')) return; // long-lived by design
      const qs = new URLSearchParams(c.query).toString();
      const res = await server.http.inject({ method: c.route.method as 'GET', url: `${path}${qs ? `?${qs}` : ''}`, ...(c.route.method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }) });
      if (res.statusCode >= 500) throw new Error(`${c.route.method} ${path} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    }),
  );
  await server.stop();

  // 6. Modbus frames: parsers on their own, then the TCP and RTU transports against hostile slaves.
  const pdu = fc.oneof(fc.uint8Array({ maxLength: 260 }).map((a) => Buffer.from(a)), fc.tuple(fc.constantFrom(1, 2, 3, 4, 0x83, 0x84), fc.uint8Array({ maxLength: 40 })).map(([f, d]) => Buffer.from([f, d.length, ...d])));
  const table = fc.constantFrom('coil' as const, 'discrete' as const, 'holding' as const, 'input' as const);
  await batches(fc.tuple(table, fc.integer({ min: 0, max: 130 }), pdu), share(0.05) - 2 * share(0.001), 7, ([t, n, p]) =>
    timed('modbus_frame', p.toString('hex'), () => {
      parseReadResponse(t, n, p);
      crcOk(p);
    }),
  );
  await fuzzModbusTcp(share(0.001), sample(fc.oneof(pdu, fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a))), share(0.001), 8), timed);
  await fuzzModbusRtu(share(0.001), sample(fc.oneof(pdu, fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a))), share(0.001), 9), timed);
  tmp.cleanup();
  return result;
}

type Timed = (target: string, input: unknown, fn: () => unknown | Promise<unknown>) => Promise<void>;

/** `n` reads through a transport whose slave answers garbage: a ModbusLinkError is an answer, anything else a crash. */
async function readAgainst(t: TcpTransport | RtuTransport, target: string, n: number, timeoutMs: number, timed: Timed): Promise<void> {
  await t.start();
  for (let i = 0; i < n; i++) {
    await timed(target, i, async () => {
      try {
        await t.read(1, i % 2 ? 'holding' : 'coil', 0, 1 + (i % 10), timeoutMs);
      } catch (err) {
        if ((err as Error).name !== 'ModbusLinkError') throw err;
      }
    });
  }
  await t.stop();
}

/** A Modbus TCP "slave" that answers each request with the next hostile frame (valid MBAP header or none). */
async function fuzzModbusTcp(n: number, answers: Buffer[], timed: Timed): Promise<void> {
  let k = 0;
  const slave = createServer((sock: Socket) => {
    sock.on('data', (req) => {
      const a = answers[k++ % answers.length]!;
      const tid = req.length >= 2 ? req.readUInt16BE(0) : 0;
      sock.write(k % 2 ? mbapFrame(tid, req[6] ?? 1, a) : a);
      if (k % 97 === 0) sock.destroy();
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => slave.listen(0, '127.0.0.1', () => r()));
  const port = (slave.address() as { port: number }).port;
  const t = new TcpTransport('127.0.0.1', port, silentLogger(), systemClock);
  await readAgainst(t, 'modbus_tcp', n, 50, timed);
  await new Promise<void>((r) => slave.close(() => r()));
}

/** The same over a socat serial pair, with CRC-framed answers half of the time. */
async function fuzzModbusRtu(n: number, answers: Buffer[], timed: Timed): Promise<void> {
  const pair = await new SerialPair().start();
  const far = new SerialPort({ path: pair.b, baudRate: 115_200 });
  await new Promise<void>((r) => far.once('open', () => r()));
  let k = 0;
  far.on('data', (req: Buffer) => {
    const a = answers[k++ % answers.length]!;
    far.write(k % 2 ? rtuFrame(req[0] ?? 1, a) : a);
  });
  const t = new RtuTransport({ path: pair.a, baudRate: 115_200, parity: 'none', dataBits: 8, stopBits: 1 }, silentLogger(), systemClock);
  await readAgainst(t, 'modbus_rtu', n, 30, timed);
  await new Promise<void>((r) => far.close(() => r()));
  await pair.stop();
}

