import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import {
  type Clock,
  Counter,
  Gauge,
  type Logger,
  type Registry,
  type Rejection,
  RejectCodeSchema,
  type Service,
  ServiceGroup,
  accessOptions,
  AuditLog,
  TokenStore,
  buildHttp,
  endpoint,
  httpService,
  installAccess,
  openDatabase,
  registerAccessApi,
  registerDocs,
  service,
  timeWindow,
} from '../core/index.ts';
import { type GatewayConfig, uplinkWarnings } from './config.ts';
import { createDriver } from './drivers/registry.ts';
import type { Driver, DriverContext } from './drivers/types.ts';
import { type Outbox, SqliteOutbox } from './outbox/index.ts';
import { Uplink } from './uplink/index.ts';

export interface GatewayDeps {
  log: Logger;
  clock: Clock;
  registry: Registry;
  /** Replaces the SQLite outbox (unit tests). */
  outbox?: Outbox;
}

// What the gateway API answers; documented in OpenAPI and checked against every answer in tests.
const int = z.number().int();
const GatewayStatusResponse = z.strictObject({
  site: z.string(),
  gatewayId: z.string(),
  bootId: z.string(),
  uplink: z.strictObject({ state: z.string(), url: z.string() }),
  outbox: z.strictObject({ pendingReadings: int, sealedEnvelopes: int, sealedReadings: int, oldestTs: int.optional(), oldestPendingAt: int.optional(), droppedReadings: int }),
  drivers: z.array(z.looseObject({ id: z.string(), kind: z.string() })),
  recentRejections: z.array(z.strictObject({ code: RejectCodeSchema, message: z.string(), at: int, driver: z.string(), topic: z.string().optional(), deviceId: z.string().optional() })),
});
const PolledDevicesResponse = z.strictObject({
  devices: z.array(
    z.strictObject({
      driver: z.string(),
      id: z.string(),
      unitId: int,
      link: z.string(),
      profile: z.string(),
      state: z.string(),
      since: int,
      lastPollAt: int.optional(),
      lastSuccessAt: int.optional(),
      lastError: z.string().optional(),
      consecutiveFailures: int,
      learnedHoles: int,
      refusedRegisters: int,
    }),
  ),
});

export interface RecentRejection extends Rejection {
  at: number;
  driver: string;
  topic?: string;
  deviceId?: string;
}

export interface Gateway extends Service {
  readonly bootId: string;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly drivers: readonly Driver[];
  status(): Record<string, unknown>;
  httpAddress(): { host: string; port: number } | undefined;
}

/** Wires drivers → outbox → uplink (and the gateway's HTTP status endpoints) from a validated config. */
export function buildGateway(config: GatewayConfig, deps: GatewayDeps): Gateway {
  const { clock, registry } = deps;
  const log = deps.log.child({ site: config.site, gatewayId: config.gatewayId });
  const bootId = randomUUID();
  const outbox = deps.outbox ?? new SqliteOutbox(join(config.dataDir, 'outbox.db'), config.outbox);
  const header = { site: config.site, gatewayId: config.gatewayId, bootId };
  const uplink = new Uplink(config.uplink, { outbox, header, log, clock, registry });
  const registers = [registry];

  const readingsCounter = new Counter({ name: 'vigil_gateway_readings_total', help: 'Readings accepted into the outbox', labelNames: ['driver'], registers });
  const rejectedCounter = new Counter({
    name: 'vigil_gateway_rejected_total',
    help: 'Payloads or readings refused, by reason code',
    labelNames: ['driver', 'code'],
    registers,
  });
  new Gauge({
    name: 'vigil_gateway_outbox_readings',
    help: 'Readings held in the outbox, by state',
    labelNames: ['state'],
    registers,
    collect() {
      const s = outbox.stats();
      this.set({ state: 'pending' }, s.pendingReadings);
      this.set({ state: 'sealed' }, s.sealedReadings);
    },
  });
  new Gauge({
    name: 'vigil_gateway_outbox_oldest_age_seconds',
    help: 'Age of the oldest reading held in the outbox (sample time)',
    registers,
    collect() {
      const s = outbox.stats();
      this.set(s.oldestTs === undefined ? 0 : Math.max(0, (clock.now() - s.oldestTs) / 1000));
    },
  });
  new Gauge({
    name: 'vigil_gateway_outbox_dropped_readings',
    help: 'Readings discarded by the outbox overflow policy since start',
    registers,
    collect() {
      this.set(outbox.stats().droppedReadings);
    },
  });

  const known = new Set(config.devices.map((d) => d.id));
  const recent: RecentRejection[] = [];
  // Refusals by reason since start; they go upstream in the status message, so operators see what
  // the gateway turned away beside what the server quarantined.
  const refusedByCode: Record<string, number> = {};
  let refusedTotal = 0;
  const warned = new Set<string>();
  const ctx: DriverContext = {
    log,
    clock,
    registry,
    sink: {
      async accept(readings, origin) {
        await outbox.append(readings, clock.now(), origin);
        uplink.notify();
      },
      seen: (origin) => outbox.seenMessage(origin),
    },
    isKnownDevice: (id) => config.acceptUnknownDevices || known.has(id),
    window: () => timeWindow(clock.now(), config.intake.maxAge, config.intake.maxFuture),
    rejected(driver, r, detail) {
      rejectedCounter.inc({ driver, code: r.code });
      recent.push({ ...r, at: clock.now(), driver, ...detail });
      refusedByCode[r.code] = (refusedByCode[r.code] ?? 0) + 1;
      refusedTotal++;
      if (recent.length > 50) recent.shift();
      // One warning per device and reason; repetitions are on the counter and in /api/v1/status.
      const key = `${detail.deviceId ?? detail.topic ?? ''}\u0000${r.code}`;
      if (!warned.has(key) && warned.size < 10_000) {
        warned.add(key);
        log.warn({ driver, ...detail, code: r.code, reason: r.message }, 'reading refused');
      }
    },
    accepted: (driver, n) => readingsCounter.inc({ driver }, n),
  };
  const drivers = config.drivers.map((d) => createDriver(d, { ...ctx, log: log.child({ driver: d.id }) }));

  const status = () => ({
    site: config.site,
    gatewayId: config.gatewayId,
    bootId,
    uplink: { state: uplink.state, url: uplink.url },
    outbox: outbox.stats(),
    drivers: drivers.map((d) => d.status()),
    recentRejections: recent.slice(-20),
  });

  // Device states and the outbox depth go upstream as one retained message: at most once a second
  // when a device state changes, and every 10 s anyway so the server sees a backlog drain.
  let lastStatus = '';
  let lastSent = 0;
  const equipment = config.devices.filter((d) => d.model !== undefined).map((d) => ({ id: d.id, model: d.model!, ...(d.firmware ? { firmware: d.firmware } : {}), ...(d.installedAt ? { installedAt: d.installedAt } : {}) }));
  const statusTimer = setInterval(() => {
    const devices = drivers.flatMap((d) => (d.devices ? d.devices() : []));
    const list = devices.map((x) => ({ id: x.id, state: x.state, since: x.since, ...(x.lastError ? { lastError: x.lastError.slice(0, 500) } : {}) }));
    const key = JSON.stringify([list.map((x) => [x.id, x.state]), refusedTotal]);
    if (key === lastStatus && clock.now() - lastSent < 10_000) return;
    lastStatus = key;
    lastSent = clock.now();
    const o = outbox.stats();
    const refusals = {
      total: refusedByCode,
      recent: recent.slice(-20).map((r) => ({
        at: r.at,
        code: r.code,
        message: r.message.slice(0, 300),
        driver: r.driver,
        ...(r.deviceId ? { deviceId: r.deviceId.slice(0, 64) } : {}),
        ...(r.topic ? { topic: r.topic.slice(0, 300) } : {}),
      })),
    };
    uplink.publishStatus(JSON.stringify({ v: 1, at: clock.now(), devices: list, ...(equipment.length ? { equipment } : {}), outbox: { readings: o.pendingReadings + o.sealedReadings, oldestTs: o.oldestTs ?? null }, refusals }));
  }, 1000);
  statusTimer.unref();

  let http: ReturnType<typeof httpService> | undefined;
  const services: Service[] = [service('outbox', async () => undefined, async () => outbox.close()), uplink];
  if (config.http) {
    const app = buildHttp({
      log,
      registry,
      tls: config.http.tls,
      readiness: [{ name: 'uplink', check: () => (uplink.state === 'online' ? true : `uplink ${uplink.state}; readings are held in the outbox`) }],
    });
    // Tokens and the audit log live in the gateway's own file, beside (not inside) the outbox.
    const db = openDatabase(join(config.dataDir, 'gateway.db'));
    const access = accessOptions(config.http, { tokens: TokenStore.sqlite(db), audit: AuditLog.sqlite(db) }, () => clock.now());
    installAccess(app, access);
    registerDocs(app, { title: 'Vigil gateway', version: '1' });
    registerAccessApi(app, access);
    endpoint(app, 'GET', '/api/v1/status', { tag: 'gateway', summary: 'Uplink, outbox, drivers and recent refusals', response: GatewayStatusResponse }, () => status());
    endpoint(app, 'GET', '/api/v1/devices', { tag: 'gateway', summary: 'Polled devices and their states', response: PolledDevicesResponse }, () => ({
      devices: drivers.flatMap((d) => (d.devices ? d.devices().map((x) => ({ driver: d.id, ...x })) : [])),
    }));
    services.push(service('gateway-db', async () => undefined, async () => {
      db.close();
    }));
    http = httpService(app, config.http.host, config.http.port);
    services.push(http);
  }
  services.push(...drivers);
  const group = new ServiceGroup(services, { log });

  return {
    name: 'gateway',
    bootId,
    outbox,
    uplink,
    drivers,
    status,
    httpAddress: () => http?.address(),
    async start() {
      try {
        await group.start();
      } catch (err) {
        // The group has closed what it started (the outbox among them): the status tick must not read it.
        clearInterval(statusTimer);
        throw err;
      }
      log.info({ bootId, drivers: drivers.map((d) => d.id), uplink: config.uplink.url }, 'gateway started');
      for (const warning of uplinkWarnings(config)) log.warn(warning);
    },
    async stop() {
      clearInterval(statusTimer);
      await group.stop();
    },
  };
}
