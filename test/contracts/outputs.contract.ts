import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { SqliteSql, createRegistry, openDatabase, parseConfig, silentLogger, systemClock, type Reading, type WebhookPayload } from '../../core/index.ts';
import { Quarantine, SINKS, type TelemetrySink } from '../../ingest/index.ts';
import { DESTINATIONS, DestinationEntrySchema, TicketOutputs, WebhookConfigSchema, WebhookDispatcher, WebhookOutbox, idempotencyKey } from '../../tickets/index.ts';
import { type SmtpAnswer, SmtpRelay } from '../helpers/smtp.ts';
import { Victoria } from '../helpers/victoria.ts';

/**
 * The contract every output keeps (every sink of `ingest/sinks/` and every ticket destination of
 * `tickets/destinations/`), run against each over real sockets, as MQTT.js and aedes run one abstract
 * suite over their stores. A new plugin adds one entry to OUTPUT_CASES; a test checks each plugin
 * folder has one.
 */

/** How the target answers: take it, fail for now (5xx, SMTP 4xx), refuse it for good (4xx, SMTP 5xx), never answer, take it slowly. */
export type Answer = 'ok' | 'transient' | 'permanent' | 'hang' | 'slow';

export interface ContractTarget {
  /** What an output needs to reach it; plain data, so a child process can be handed it. */
  address: Record<string, string | number>;
  /** The answers to the next requests (`sequence`, counted from now), then `then`. */
  plan(p: { sequence?: Answer[]; then?: Answer }): void;
  /** Identities of the items the target took, in the order taken, a resend included again. */
  taken(): Promise<string[]>;
  /** Requests (sends) seen so far. */
  requests(): number;
  stop(): Promise<void>;
}

export interface OpenOutput {
  /** Puts `n` items under each key; returns their identities in the order put. */
  put(items: { key: string; n: number }[]): Promise<string[]>;
  /** Items not yet taken nor given up. */
  pending(): Promise<number>;
  /** Ids of the items given up: dead letters (destinations) or quarantined writes (sinks). */
  dead(): Promise<number[]>;
  /** Sends a dead letter again; false when the output has no replay. */
  replay(id: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface OutputCase {
  kind: string;
  family: 'sink' | 'destination';
  /** Items of one key reach the target in the order put (a ticket's events). */
  orderPerKey: boolean;
  /**
   * Items that used `maxAttempts` go to a replayable dead-letter list. Sinks have no such limit: a
   * TSDB outage of any length is waited out with the readings in the spool, since a reading dropped
   * for a slow TSDB would be data lost.
   */
  maxAttempts: boolean;
  target(): Promise<ContractTarget>;
  open(address: Record<string, string | number>, dbPath: string, opts: { maxAttempts: number }): Promise<OpenOutput>;
}

// ---------------------------------------------------------------- targets

interface Plan {
  sequence: Answer[];
  then: Answer;
}

/** The n-th answer of a plan, counted from when it was set. */
class Planner {
  private p: Plan = { sequence: [], then: 'ok' };
  private base = 0;
  seen = 0;
  set(p: { sequence?: Answer[]; then?: Answer }): void {
    this.p = { sequence: p.sequence ?? [], then: p.then ?? 'ok' };
    this.base = this.seen;
  }
  next(): Answer {
    const i = this.seen++ - this.base;
    return this.p.sequence[i] ?? this.p.then;
  }
}

/** An HTTP server that answers as planned; `forward` passes taken requests on to a real server. */
class PlannedHttp {
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  readonly planner = new Planner();
  readonly keys: string[] = [];
  port = 0;

  constructor(private readonly forward?: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const answer = this.planner.next();
    if (answer === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (answer === 'transient') return void res.writeHead(503).end('try later');
    if (answer === 'permanent') return void res.writeHead(400).end('refused');
    if (answer === 'slow') await new Promise((r) => setTimeout(r, 300));
    if (this.forward) {
      const up = await fetch(`${this.forward}${req.url}`, { method: req.method, headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)).map(([k, v]) => [k, String(v)])), body: Buffer.concat(chunks) });
      res.writeHead(up.status).end(await up.text());
      return;
    }
    this.keys.push(String(req.headers['idempotency-key']));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()).closeAllConnections());
  }
}

async function httpTarget(): Promise<ContractTarget> {
  const http = await new PlannedHttp().start();
  return {
    address: { url: `http://127.0.0.1:${http.port}/hook` },
    plan: (p) => http.planner.set(p),
    taken: async () => [...http.keys],
    requests: () => http.planner.seen,
    stop: () => http.stop(),
  };
}

/** A real VictoriaMetrics behind a planned proxy: the proxy fails on demand, VictoriaMetrics stores. */
async function tsdbTarget(): Promise<ContractTarget> {
  const vm = await new Victoria().start();
  const proxy = await new PlannedHttp(vm.url).start();
  return {
    address: { url: `http://127.0.0.1:${proxy.port}` },
    plan: (p) => proxy.planner.set(p),
    taken: async () => (await vm.export('{__name__="telemetry_vibration_rms"}')).flatMap((s) => s.timestamps.map((t) => `${s.metric.device}@${t}`)),
    requests: () => proxy.planner.seen,
    stop: async () => {
      await proxy.stop();
      await vm.destroy();
    },
  };
}

async function smtpTarget(): Promise<ContractTarget> {
  const relay = await new SmtpRelay().start();
  let base = 0;
  return {
    address: { port: relay.port, ca: relay.ca, user: relay.user, password: relay.password },
    plan: (p) => {
      // The relay counts messages since it started; the plan counts from now.
      base = relay.messages().length;
      relay.plan({ sequence: [...(Array(base).fill('ok') as SmtpAnswer[]), ...(p.sequence ?? [])], then: p.then ?? 'ok' });
    },
    // A mail system takes a message once per Message-ID; the relay records every copy it was handed.
    taken: async () => relay.messages().filter((m) => m.mode === 'ok' || m.mode === 'slow').map((m) => m.messageId.replace(/^<|@vigil>$/g, '')),
    requests: () => relay.messages().length,
    stop: () => relay.stop(),
  };
}

// ---------------------------------------------------------------- outputs

const log = silentLogger();

async function openSink(kind: string, address: Record<string, string | number>, dbPath: string): Promise<OpenOutput> {
  const plugin = SINKS.find((s) => s.kind === kind)!;
  const db = openDatabase(dbPath);
  const quarantine = await Quarantine.open(new SqliteSql(db));
  const url = kind === 'prometheus-remote-write' ? `${address.url}/api/v1/write` : String(address.url);
  const sink: TelemetrySink = plugin.create(plugin.config.parse({ url, timeout: '400ms', maxBatchReadings: 5 }), { db, quarantine, log, clock: systemClock, registry: createRegistry() });
  await sink.start();
  // One base time per database, so a restarted child puts nothing new and a fresh one never collides.
  const t0 = Date.now() - 3_600_000;
  return {
    async put(items) {
      const ids: string[] = [];
      for (const { key, n } of items) {
        const readings: Reading[] = Array.from({ length: n }, (_, i) => ({ deviceId: key, metric: 'vibration_rms', value: i, ts: t0 + i * 1000 }));
        // One batch per reading, as gateways send many small Envelopes.
        for (const r of readings) await sink.write({ site: 'contract', gatewayId: 'gw-contract', readings: [r] });
        ids.push(...readings.map((r) => `${key}@${r.ts}`));
      }
      return ids;
    },
    pending: async () => Number(sink.status().spoolReadings),
    dead: async () => (await quarantine.list({ limit: 1000, offset: 0, code: 'tsdb_rejected' })).items.map((e) => e.id),
    replay: async () => false,
    stop: async () => {
      await sink.stop();
      db.close();
    },
  };
}

/** A ticket as events carry it, enough for every destination's body. */
function ticket(id: number): WebhookPayload['ticket'] {
  return {
    id,
    dedupeKey: `pump-${id}:bearing_wear`,
    site: 'plant-a',
    deviceId: `pump-${id}`,
    fault: 'bearing_wear',
    title: `Bearing wear on pump-${id} at plant-a`,
    status: 'open',
    priority: 'P2',
    severity: 'warning',
    dispatchGroup: 'default-pump',
    assignee: null,
    occurrences: 1,
    rules: ['vibration-iso'],
    createdAt: Date.now(),
    updatedAt: Date.now(),
    firstSeenAt: Date.now(),
    lastSeenAt: Date.now(),
    conditionCleared: false,
    respondBy: Date.now() + 3_600_000,
    resolveBy: Date.now() + 86_400_000,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    slaBreached: false,
    outcome: null,
    suggestedAction: 'Replace the drive-end bearing at the next stop.',
    likelyParts: [],
    evidence: null,
    externalRef: null,
  } as unknown as WebhookPayload['ticket'];
}

async function openDestination(kind: string, address: Record<string, string | number>, dbPath: string, opts: { maxAttempts: number }): Promise<OpenOutput> {
  const own: Record<string, unknown> =
    kind === 'email'
      ? { host: '127.0.0.1', port: address.port, ca: address.ca, user: address.user, password: address.password, from: 'vigil@plant-a.example', to: ['desk@service.example'], timeout: '1s' }
      : { url: address.url, timeout: '400ms', ...(kind === 'webhook' ? { secret: 'contract-webhook-secret-0123456789' } : {}) };
  const db = new SqliteSql(openDatabase(dbPath));
  const outbox = await WebhookOutbox.open(db);
  const outputs = new TicketOutputs([DestinationEntrySchema.parse({ kind, name: `contract-${kind}`, ...own })], { outbox, clock: systemClock, log, baseUrl: 'https://vigil.plant-a.example', timeoutMs: 400 });
  const dispatcher = new WebhookDispatcher(parseConfig(WebhookConfigSchema, { maxAttempts: opts.maxAttempts, initialBackoff: '20ms', maxBackoff: '150ms', concurrency: 4 }, {}), { outbox, clock: systemClock, log, registry: createRegistry(), route: outputs.route });
  await dispatcher.start();
  return {
    async put(items) {
      const ids: string[] = [];
      // Event ids continue from what the database holds, as the ticket store's do; each database starts
      // from its own base, so the outputs the suite opens against one target never share a key.
      let next = ((await db.get<{ m: number | null }>('SELECT MAX(event_id) AS m FROM delivery'))!.m ?? createHash('sha1').update(dbPath).digest().readUInt32BE(0)) + 1;
      await db.tx(async () => {
        for (const { key, n } of items) {
          for (let i = 0; i < n; i++) {
            const id = next++;
            const t = ticket(Number(key.replace(/\D/g, '')) || 1);
            await outputs.enqueue({ id, type: 'ticket.updated', ticketId: t.id }, { id: idempotencyKey(id), type: 'ticket.updated', at: new Date().toISOString(), actor: { name: 'rule-engine', role: 'system' }, detail: { n: i }, ticket: t }, Date.now());
            ids.push(idempotencyKey(id));
          }
        }
      });
      dispatcher.kick();
      return ids;
    },
    pending: async () => (await outputs.list())[0]!.pending,
    dead: async () => (await outputs.deliveries({ status: 'dead', limit: 1000, offset: 0 })).deliveries.map((d) => d.id),
    replay: async (id) => {
      const ok = await outputs.replay(id, Date.now());
      dispatcher.kick();
      return ok;
    },
    stop: async () => {
      await dispatcher.stop();
      outputs.close();
      db.close();
    },
  };
}

const sinkCase = (kind: string): OutputCase => ({ kind, family: 'sink', orderPerKey: false, maxAttempts: false, target: tsdbTarget, open: (a, p) => openSink(kind, a, p) });
const destinationCase = (kind: string, target: () => Promise<ContractTarget>): OutputCase => ({ kind, family: 'destination', orderPerKey: true, maxAttempts: true, target, open: (a, p, o) => openDestination(kind, a, p, o) });

export const OUTPUT_CASES: readonly OutputCase[] = [
  sinkCase('influxdb'),
  sinkCase('prometheus-remote-write'),
  destinationCase('webhook', httpTarget),
  destinationCase('email', smtpTarget),
  destinationCase('chat', httpTarget),
];

/** Every plugin kind, so the folder test can check each has a case here. */
export const PLUGIN_KINDS = { sinks: SINKS.map((s) => s.kind), destinations: DESTINATIONS.map((d) => d.kind) };
