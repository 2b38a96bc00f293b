import { hkdfSync } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type ReadinessCheck,
  AuditLog,
  SecretBox,
  secretKeyOrFile,
  accessOptions,
  type Clock,
  type FastifyInstance,
  Counter,
  type Logger,
  type Registry,
  type Service,
  ServiceGroup,
  buildHttp,
  endpoint,
  httpService,
  TokenStore,
  installAccess,
  openDatabase,
  LOCKS,
  PostgresSql,
  type Sql,
  SqliteSql,
  redactUrl,
  singleRunner,
  registerAccessApi,
  registerDocs,
  service,
  timeWindow,
  brokerUrlList,
  ownPortService,
  shardOf,
} from '../core/index.ts';
import { RuleService, equipmentOf, registerRulesApi } from '../rules/index.ts';
import { TicketManager, registerLibraryApi, registerSurveyPages, registerTicketsApi } from '../tickets/index.ts';
import { registerConsoleApi, registerConsoleStatic } from '../dashboards/console/index.ts';
import {
  DedupeLedger,
  DeviceDirectory,
  EnvelopeDedupe,
  ExternalSubscriber,
  GatewayDirectory,
  HistoryRollups,
  InfluxSink,
  Intake,
  type BatchListener,
  Quarantine,
  type TelemetrySink,
  centralBroker,
  historyService,
  registerIngestApi,
  sinkOf,
} from '../ingest/index.ts';
import { ClusterNode, ClusterViewSchema, FleetLevels, ShardLeases, PeerClient, ShardSubscriber, ShardWindows, fleetLevelsService } from './cluster/index.ts';
import type { ServerConfig } from './config.ts';

export interface ServerDeps {
  log: Logger;
  clock: Clock;
  registry: Registry;
  /**
   * The key that seals stored secrets (VIGIL_SECRET_KEY) and, during a rotation, the previous one.
   * Without a key the server keeps one in `<dataDir>/secret.key`.
   */
  secretKeys?: { current?: string | undefined; previous?: string | undefined };
  /** More checks behind `/readyz` (the demo's: its week of history has been replayed). */
  readiness?: readonly ReadinessCheck[];
  /**
   * A worker of `vigil server --workers`: besides the shared port, listen on a port of its own and
   * give that one to the other cluster members, so a question for this worker's devices reaches it.
   */
  ownPort?: boolean;
  /** What `/metrics` answers instead of this process's registry (a worker: every worker's series). */
  metrics?: () => Promise<string>;
}

export interface Server extends Service {
  readonly intake: Intake;
  readonly devices: DeviceDirectory;
  readonly quarantine: Quarantine;
  /** The influxdb sink, if one is configured (tests and the pipeline page read its spool). */
  readonly influx: InfluxSink | undefined;
  /** Every sink, in the order of `sinks:`. */
  readonly sinks: readonly TelemetrySink[];
  readonly http: FastifyInstance;
  readonly rules: RuleService;
  readonly history: HistoryRollups;
  readonly tickets: TicketManager;
  readonly tokens: TokenStore;
  readonly audit: AuditLog;
  /** Where the embedded broker listens (after start), if it is the embedded one. */
  brokerPort(): number | undefined;
  brokerTlsPort(): number | undefined;
  httpAddress(): { host: string; port: number };
}

/**
 * Wires broker → intake → sinks and the HTTP API from a validated server config. Opens (and migrates)
 * the server's store: the SQLite file in the data directory, or PostgreSQL when `database.url` is set.
 */
export async function buildServer(config: ServerConfig, deps: ServerDeps): Promise<Server> {
  const { clock, registry } = deps;
  const log = deps.log;
  const db = openDatabase(join(config.dataDir, 'server.db'), { cacheBytes: 64 * 1024 * 1024 });
  // The parts not yet on the shared store keep the SQLite file; on SQLite everything shares one connection.
  const sql: Sql = config.database.url ? new PostgresSql({ url: config.database.url, pool: config.database.pool, application: 'vigil-server' }) : new SqliteSql(db);
  if (config.database.url) log.info({ database: redactUrl(config.database.url), pool: config.database.pool }, 'tickets, deliveries and KPIs on PostgreSQL');
  const quarantine = await Quarantine.open(sql, { onError: (err) => log.error({ err }, 'quarantine entry not written') });
  const devices = new DeviceDirectory();
  const gateways = new GatewayDirectory();

  const dedupe = new EnvelopeDedupe();
  const ledger = new DedupeLedger(db, dedupe, () => clock.now());
  // The deprecated `influx:` section is an influxdb sink like any other.
  const entries = [...config.sinks, ...(config.influx ? [{ kind: 'influxdb', ...config.influx }] : [])];
  if (config.influx) log.warn('the influx: section is deprecated: write it as sinks: [{ kind: influxdb, url: … }]');
  const sinks: TelemetrySink[] = entries.map((e) => {
    const plugin = sinkOf(e.kind)!; // the config schema admits registered kinds only
    // Already checked and filled by the kind's schema when the config was parsed.
    const { kind, ...settings } = e;
    return plugin.create(settings as Parameters<typeof plugin.create>[0], { db, quarantine, log: log.child({ component: `sink-${kind}` }), clock, registry, recorder: ledger });
  });
  const influx = sinks.find((s): s is InfluxSink => s instanceof InfluxSink);

  const intake = new Intake(
    { maxEnvelopeBytes: config.intake.maxEnvelopeBytes, window: () => timeWindow(clock.now(), config.intake.maxAge, config.intake.maxFuture) },
    { sinks, ledger, dedupe, quarantine, devices, gateways, log: log.child({ component: 'intake' }), clock, registry },
  );

  const history = await HistoryRollups.open(sql);
  const audit = await AuditLog.open(sql);
  const tokens = await TokenStore.open(sql);
  const leased = config.broker.mode === 'external' && config.broker.shards === 'leased';
  const rules = await RuleService.open(config.rules, { sql, audit, log: log.child({ component: 'rules' }), clock, registry, history, byShard: leased });
  const keys = secretKeyOrFile(deps.secretKeys?.current, join(config.dataDir, 'secret.key'));
  if (keys.source === 'file') log.warn({ file: join(config.dataDir, 'secret.key') }, 'VIGIL_SECRET_KEY is not set: stored secrets are sealed with a key kept beside the database');
  const secrets = new SecretBox(keys.key, deps.secretKeys?.previous ? [deps.secretKeys.previous] : []);
  // Customers' links are signed with a key derived from the secret key, so they survive a restart.
  const linkKey = Buffer.from(hkdfSync('sha256', keys.key, 'vigil', 'customer-links', 32));
  const deviceLookup = {
    siteOf: async (id: string) => devices.siteOf(id) ?? (await history.siteOf(id)),
    knownSite: async (site: string) => devices.hasSite(site) || (await history.hasSite(site)),
  };
  const tickets = await TicketManager.open(config.tickets, { sql, slaRunner: singleRunner(sql, LOCKS.slaClock, 'vigil-sla-clock'), clock, secrets, log: log.child({ component: 'tickets' }), registry, history, findings: rules.findings, devices: deviceLookup, linkKey, audit,
    // The model as the active ruleset's device entries have it; before the rules start, none is known.
    // The ruleset's device entries first (the operator's word), else what the device's gateway reports.
    equipment: (id, site) => (rules.started ? equipmentOf(rules.live.activeRuleset, id, site ?? undefined) : null) ?? gateways.equipmentOf(id, site),
  });
  rules.onFinding((f, id) => {
    // The rules stored the finding first; one whose ticket change fails (the store is down) is logged
    // with its ids, and stays in the findings list.
    tickets.handleFinding(f, id).catch((err: unknown) => log.error({ err, ruleId: f.ruleId, deviceId: f.deviceId }, 'finding not applied to tickets'));
  });
  // Quality: every reading is stored (tagged in the TSDB); only trusted ones feed rules, baselines and
  // the per-minute history the charts and backtests read. Bad ones are counted.
  const byQuality = new Counter({ name: 'vigil_readings_by_quality_total', help: 'Readings accepted, by quality (good when not given)', labelNames: ['quality'], registers: [registry] });
  const trusted = (q: string | undefined) => q === undefined || q === 'good' || (q === 'uncertain' && config.rules.uncertain === 'include');
  // What consumes accepted readings once every sink has them on disk, in this order: the per-minute
  // history (so a finding's evidence can read the minute it fired in), the rule engine, and then the
  // console's live tail (appended when the console registers). Only trusted readings go to the first two.
  const consumers: { name: string; consume: BatchListener }[] = [
    { name: 'history', consume: (b) => history.add(b.site, b.readings) },
    { name: 'rules', consume: (b) => rules.ingest(b.site, b.readings) },
  ];
  const trustedConsumers = consumers.length;
  intake.onBatch((b) => {
    let batch = b;
    if (b.readings.some((r) => r.quality !== undefined && r.quality !== 'good')) {
      for (const r of b.readings) if (r.quality !== undefined && r.quality !== 'good') byQuality.inc({ quality: r.quality });
      batch = { ...b, readings: b.readings.filter((r) => trusted(r.quality)) };
    }
    for (let i = 0; i < consumers.length; i++) {
      const c = consumers[i]!;
      const input = i < trustedConsumers ? batch : b;
      if (input.readings.length > 0) c.consume(input);
    }
  });

  const aclViolations = new Counter({ name: 'vigil_broker_acl_violations_total', help: 'Publishes refused by the broker ACL', registers: [registry] });
  const refused = new Counter({ name: 'vigil_broker_refused_connections_total', help: 'MQTT connections turned away, by reason', labelNames: ['reason'], registers: [registry] });
  const b = config.broker;
  const broker =
    b.mode === 'embedded'
      ? centralBroker({
          host: b.host,
          port: b.port,
          plain: b.plain,
          tls: b.tls,
          gateways: b.gateways,
          subscribers: b.subscribers,
          intake,
          limits: b.limits,
          maxEnvelopeBytes: config.intake.maxEnvelopeBytes,
          log: log.child({ component: 'broker' }),
          onRefused: (reason) => refused.inc({ reason }),
          onAclViolation(p, topic) {
            aclViolations.inc();
            log.warn({ principal: p, topic: topic.slice(0, 200) }, 'publish refused by ACL; client disconnected');
          },
        })
      : undefined;
  // Several servers sharing the shards: each takes a shard's envelopes through the shard's own session
  // while it holds the shard's lease, and its rule state with it.
  const memberId = config.cluster.memberId ?? `${hostname()}-${process.pid}`;
  let cluster: ClusterNode | undefined;
  let fleetShare: Service | undefined;
  // Known once the HTTP service exists (below); read by the lease rounds, which start after it listens.
  const listening: { address?: () => { host: string; port: number }; own?: () => { host: string; port: number } | undefined } = {};
  if (b.mode === 'external' && leased) {
    const ttlMs = config.cluster.failoverAfter;
    const shardSessions = new ShardSubscriber({ url: b.url, username: b.username, password: b.password, clientIdPrefix: b.clientId }, intake, log.child({ component: 'shards' }));
    // Where the others reach this server's API: as configured, or the address it listens on; a worker
    // gives its own port (with the configured host, if any).
    const apiUrl = () => {
      const own = listening.own?.();
      // A worker is reached on its own port only: the shared one would hand the question to any worker.
      if (deps.ownPort && !own) return undefined;
      if (!own && config.cluster.advertiseUrl) return config.cluster.advertiseUrl;
      const a = own ?? listening.address?.();
      if (!a || a.port === 0) return undefined;
      const base = config.cluster.advertiseUrl ? new URL(config.cluster.advertiseUrl) : undefined;
      const host = base?.hostname ?? (a.host === '0.0.0.0' || a.host === '::' ? hostname() : a.host.includes(':') ? `[${a.host}]` : a.host);
      return `${base ? base.protocol.slice(0, -1) : config.http.tls ? 'https' : 'http'}://${host}:${a.port}`;
    };
    const leases = await ShardLeases.open(sql, { member: { id: memberId, host: hostname(), pid: process.pid, apiUrl }, ttlMs, clock, lag: () => intake.lagByShard() }, ClusterNode.events(() => cluster));
    const windows = await ShardWindows.open(sql, dedupe);
    // Fleet rules compare a device with its model's siblings, which other servers may hold.
    fleetShare = fleetLevelsService(await FleetLevels.open(sql, memberId), () => rules.live, config.cluster.fleetShareEvery, clock, log.child({ component: 'fleet-levels' }));
    cluster = new ClusterNode(
      leases,
      shardSessions,
      {
        resume: async (s) => {
          await windows.resume(s.shard);
          await rules.resumeShard(s.shard);
        },
        save: async (s) => {
          const guard = leases.guard(s.shard, s.epoch);
          await windows.save(s.shard, clock.now(), guard);
          await rules.saveShard(s.shard, guard);
        },
        forget: (shard) => void rules.forgetShard(shard),
      },
      { roundEveryMs: Math.max(100, Math.floor(ttlMs / 3)), ttlMs, saveEveryMs: config.rules.snapshotEvery },
      log.child({ component: 'cluster' }),
    );
  }
  const subscriber =
    b.mode === 'external'
      ? new ExternalSubscriber(
          // Leased: gateways' state and status only, under this server's own session.
          { url: b.url, username: b.username, password: b.password, clientId: leased ? `${b.clientId}-${memberId}` : b.clientId, shards: b.shards, clean: leased },
          intake,
          log.child({ component: 'subscriber' }),
          clock,
        )
      : undefined;

  const pipeline = async () => ({
    broker: b.mode === 'embedded' ? { mode: 'embedded', port: broker?.port, tlsPort: broker?.tlsPort, clients: broker?.connectedClients } : { mode: 'external', url: brokerUrlList(b.url).join(','), connected: subscriber?.connected },
    tsdb: sinks[0] ? { configured: true, kind: entries[0]!.kind, ...sinks[0].status() } : { configured: false },
    webhooks: await tickets.outbox.counts(),
    gateways: gateways.list(),
  });

  const now = () => clock.now();
  // A token scoped to customers sees the sites the ticket policy assigns to them.
  const customerSites = Object.entries(config.tickets.policy.sites).map(([site, s]) => [site, s.customer] as const);
  const access = { ...accessOptions(config.http, { tokens, audit }, now), sitesOfCustomer: (c: string) => customerSites.filter(([, cust]) => cust === c).map(([site]) => site) };
  const app = buildHttp({
    log,
    registry,
    tls: config.http.tls,
    metrics: deps.metrics,
    readiness: [
      {
        name: 'broker',
        check: () => (broker ? (broker.port > 0 || broker.tlsPort > 0 ? true : 'broker not listening') : subscriber?.connected ? true : 'not connected to the broker'),
      },
      ...(deps.readiness ?? []),
    ],
  });
  installAccess(app, access);
  registerDocs(app, { title: 'Vigil server', version: '1' });
  registerAccessApi(app, { tokens, audit, now });
  const leasesOf = cluster?.leases;
  // Each server holds its own shards' devices: the API asks the others for theirs.
  const clusterScope = leasesOf ? { owns: (site: string) => leasesOf.holds(shardOf(site)), peers: new PeerClient(() => leasesOf.peers(), log.child({ component: 'peers' })) } : undefined;
  registerIngestApi(app, { devices, gateways, quarantine, status: pipeline, ...(clusterScope ? { cluster: clusterScope } : {}) });
  registerRulesApi(app, rules, now);
  registerTicketsApi(app, tickets, now);
  registerLibraryApi(app, tickets, now);
  registerSurveyPages(app, tickets, linkKey, now);
  registerConsoleApi(app, {
    devices,
    gateways,
    rules,
    tickets,
    history,
    now,
    onBatch: (l) => consumers.push({ name: 'live-tail', consume: l }),
    ...(clusterScope ? { cluster: clusterScope } : {}),
  });
  registerConsoleStatic(app);
  endpoint(app, 'GET', '/api/v1/cluster', { tag: 'pipeline', summary: 'The servers sharing the shards, what each owns, and the latest handovers', response: ClusterViewSchema }, async () =>
    cluster ? { mode: 'leased' as const, self: memberId, ...(await cluster.leases.view()) } : { mode: 'single' as const, self: memberId, shards: b.mode === 'external' ? b.shards : 'all' },
  );
  const http = httpService(app, config.http.host, config.http.port);
  listening.address = () => http.address();
  const ownPort = deps.ownPort && cluster ? ownPortService(app, config.http.host, config.http.tls) : undefined;
  if (ownPort) listening.own = () => ownPort.address();

  // Stop order (reverse): intake sources first, then sinks flush, then the database closes.
  const services: Service[] = [
    service('database', async () => undefined, async () => {
      if (sql.dialect === 'postgres') await sql.close();
      db.close();
    }),
    ...sinks,
    historyService(history, config.history, clock, log.child({ component: 'history' })),
    rules,
    tickets,
    ...(broker ? [broker] : []),
    ...(subscriber ? [subscriber] : []),
    ...(cluster ? [cluster] : []),
    ...(fleetShare ? [fleetShare] : []),
    http,
    ...(ownPort ? [ownPort] : []),
  ];
  const group = new ServiceGroup(services, { log });

  return {
    name: 'server',
    intake,
    devices,
    quarantine,
    influx,
    sinks,
    http: app,
    rules,
    history,
    tickets,
    tokens,
    audit,
    brokerPort: () => broker?.port,
    brokerTlsPort: () => broker?.tlsPort,
    httpAddress: () => http.address(),
    async start() {
      await group.start();
      if (sinks.length === 0) log.info('no time-series database configured (sinks:, or set INFLUX_URL): readings are validated and tracked, not stored');
      log.info({ http: http.address(), broker: broker ? { port: broker.port } : { url: b.mode === 'external' ? b.url : undefined } }, 'server started');
    },
    async stop() {
      await group.stop();
    },
  };
}
