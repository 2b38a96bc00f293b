// npm run bench [-- --json] [-- --readings N]
// Prints the intake and gateway throughput figures of issue #2 (see README, "Performance").
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedBroker, createRegistry, dropPacketIdCache, metricValue, parseConfig, silentLogger, systemClock } from '../core/index.ts';
import { GatewayConfigSchema, buildGateway } from '../gateway/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { Victoria } from '../test/helpers/victoria.ts';
import { MinimalPipeline } from './minimal.ts';
import { benchModbus, benchStartup } from './modbus.ts';
import { BENCH_GATEWAY, publish, startBenchServer, until } from './publish.ts';
import { benchApi } from './api.ts';
import { benchFleet } from './fleet.ts';
import { benchRules } from './rules.ts';
import { benchStores, describeStores } from './stores.ts';
import { benchWorkers } from './workers.ts';
import { benchKpis } from './tickets.ts';
import { benchCases } from './cases.ts';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, readings: { type: 'string', default: '400000' }, 'workers-readings': { type: 'string', default: '3000000' }, fleet: { type: 'string', default: '1000,100000,500000' }, 'api-devices': { type: 'string', default: '50000' } } });
const FLEET = values.fleet.split(',').map(Number);
const READINGS = Number(values.readings);
const SIZES = [100, 250, 500];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function benchIntake(vm: Victoria, size: number, dir: string) {
  const { server, registry } = await startBenchServer(join(dir, `intake-${size}`), vm.url, 'intake');
  const cpu0 = cpuMs();
  const pub = publish({ url: `mqtt://127.0.0.1:${server.brokerPort()}`, username: BENCH_GATEWAY.gatewayId, password: BENCH_GATEWAY.password, size, readings: READINGS });
  const end = await until(async () => (await metricValue(registry, 'vigil_tsdb_written_readings_total')) >= READINGS);
  const { start } = await pub;
  const cpu = cpuMs() - cpu0;
  await server.stop();
  const seconds = (end - start) / 1000;
  return { readingsPerS: Math.round(READINGS / seconds), seconds, serverCpuPct: Math.round((cpu / (end - start)) * 100) };
}

async function benchMinimal(vm: Victoria, size: number) {
  const m = new MinimalPipeline(vm.url);
  await m.broker.start();
  const pub = publish({ url: `mqtt://127.0.0.1:${m.broker.port}`, size, readings: READINGS });
  const end = await until(() => m.written >= READINGS);
  const { start } = await pub;
  await m.broker.stop();
  return { readingsPerS: Math.round(READINGS / ((end - start) / 1000)) };
}

async function benchGateway(dir: string) {
  // As `vigil gateway` runs (the intake figures above keep the cache, as `vigil server` does).
  dropPacketIdCache();
  // The uplink goes to a minimal broker that acknowledges at once, so the figure is the gateway's own.
  const upBroker = new EmbeddedBroker<true>({
    host: '127.0.0.1',
    port: 0,
    log: silentLogger(),
    hooks: { authenticate: () => true, onPublish: () => 'accept', authorizeSubscribe: () => false },
  });
  const readings = Math.round(READINGS / 2);
  await upBroker.start();
  const config = parseConfig(
    GatewayConfigSchema,
    {
      version: 1,
      site: 'bench',
      gatewayId: 'bench-gw',
      dataDir: join(dir, 'gateway'),
      acceptUnknownDevices: true,
      drivers: [{ kind: 'mqtt-device', id: 'local', broker: { mode: 'embedded', port: 0, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}' }] }],
      uplink: { url: `mqtt://127.0.0.1:${upBroker.port}`, password: '${PW}', maxReadingsPerEnvelope: 500, maxDelay: '200ms' },
    },
    { PW: BENCH_GATEWAY.password },
  );
  const registry = createRegistry();
  const gateway = buildGateway(config, { log: silentLogger(), clock: systemClock, registry });
  await gateway.start();
  await until(() => gateway.uplink.state === 'online', 10_000);
  const port = (gateway.drivers[0]!.status() as { port: number }).port;
  const cpu0 = cpuMs();
  const pub = publish({ url: `mqtt://127.0.0.1:${port}`, mode: 'sensor', readings, window: 256, clients: 8 });
  const end = await until(async () => (await metricValue(registry, 'vigil_gateway_uplink_readings_total')) >= readings);
  const { start } = await pub;
  const cpu = cpuMs() - cpu0;
  await gateway.stop();
  await upBroker.stop();
  return { readingsPerS: Math.round(readings / ((end - start) / 1000)), messagesPerS: Math.round(readings / 10 / ((end - start) / 1000)), gatewayCpuPct: Math.round((cpu / (end - start)) * 100) };
}

const tmp = tempDir('vigil-bench-');
const vm = await new Victoria().start();
try {
  console.log(`Vigil benchmark: ${READINGS} readings per run, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}`);
  console.log('TSDB: VictoriaMetrics via the InfluxDB v2 write API; publisher in a separate process, QoS 1, 64 messages in flight\n');
  const rows: { size: number; intake: number; minimal: number; ratio: number; cpu: number }[] = [];
  for (const size of SIZES) {
    const intake = await benchIntake(vm, size, tmp.dir);
    const minimal = await benchMinimal(vm, size);
    const ratio = intake.readingsPerS / minimal.readingsPerS;
    rows.push({ size, intake: intake.readingsPerS, minimal: minimal.readingsPerS, ratio, cpu: intake.serverCpuPct });
    console.log(
      `intake   ${String(size).padStart(3)} readings/Envelope: ${intake.readingsPerS.toLocaleString('en').padStart(9)} readings/s (server CPU ${intake.serverCpuPct}% of one core) | minimal pipeline ${minimal.readingsPerS.toLocaleString('en').padStart(9)} readings/s | ratio ${(ratio * 100).toFixed(0)}%`,
    );
  }
  // `vigil server --workers N` as a cluster runs it (external broker, leased shards on PostgreSQL, rules,
  // TSDB), 1 then 2 workers, twice in turn; the better run of each counts.
  const wr = Number(values['workers-readings']);
  const w1 = await benchWorkers(tmp.dir, vm, [1, 2, 1, 2], wr);
  const oneWorker = Math.max(...w1.filter((r) => r.workers === 1).map((r) => r.readingsPerS));
  const twoWorkers = Math.max(...w1.filter((r) => r.workers === 2).map((r) => r.readingsPerS));
  console.log(
    `workers  vigil server --workers N (Mosquitto, leased shards on PostgreSQL, rules, TSDB; 64 gateways, 500 readings/Envelope as the best intake figure, ${wr.toLocaleString('en')} readings): 1 worker ${oneWorker.toLocaleString('en')} readings/s, 2 workers ${twoWorkers.toLocaleString('en')} readings/s (${(twoWorkers / oneWorker).toFixed(2)}x; runs ${w1.map((r) => `${r.workers}: ${r.readingsPerS.toLocaleString('en')} r/s, workers ${r.workerCpuPct}% of a core, ${r.readingsPerWorkerCpuS.toLocaleString('en')} readings per worker CPU-second, machine ${r.machineCpuPct}% of a core, CPU µs per reading: workers ${r.cpuUsPerReading.workers}, TSDB ${r.cpuUsPerReading.tsdb}, broker ${r.cpuUsPerReading.broker}, publisher ${r.cpuUsPerReading.publisher}, rest ${r.cpuUsPerReading.rest}`).join('; ')})`,
  );
  const gw = await benchGateway(tmp.dir);
  console.log(`gateway  local MQTT sensors (10 metrics per message, 8 clients): ${gw.readingsPerS.toLocaleString('en')} readings/s (${gw.messagesPerS.toLocaleString('en')} messages/s, gateway CPU ${gw.gatewayCpuPct}% of one core)`);
  const mb = await benchModbus(tmp.dir);
  console.log(
    `modbus   ${mb.devices} TCP devices × 20 registers at 1 Hz (compiled gateway in its own process, outbox on disk, QoS 1 uplink): ${mb.at1hz.pollsPerS.toLocaleString('en')} polls/s = ${mb.at1hz.valuesPerS.toLocaleString('en')} values/s, p99 poll ${mb.at1hz.p99Ms} ms, gateway CPU ${mb.at1hz.cpuPct}% of one core = ${mb.at1hz.cpuPctPer1000ValuesPerS}% per 1,000 values/s, RSS ${mb.at1hz.rssMB} MB, ${mb.at1hz.failed} failed`,
  );
  console.log(`modbus   same devices polled every 20 ms (maximum): ${mb.max.pollsPerS.toLocaleString('en')} polls/s, p99 poll ${mb.max.p99Ms} ms, gateway CPU ${mb.max.cpuPct}% = ${mb.max.cpuPctPer1000ValuesPerS}% per 1,000 values/s`);
  const start = benchStartup();
  console.log(`edge     vigil --help: ${start.helpMs} ms, ${start.helpRssMB} MB peak; idle gateway (site broker, uplink, outbox, no API): ${mb.idleRssMB} MB RSS after a minute (${mb.idleRssAt10sMB} MB at 10 s); ${mb.idleRssUnitMB} MB as the systemd unit runs it (--v8-pool-size=0)`);
  const rules = benchRules(10_000);
  const rulesBefore = benchRules(10_000, 'without-new');
  console.log(
    `rules    default ruleset, 10,000 device-metrics, one core: ${rules.readingsPerS.toLocaleString('en')} readings/s = ${rules.evaluationsPerS.toLocaleString('en')} rule evaluations/s (${rules.rulesPerReading} rules per reading); state ${rules.stateBytesPerDeviceMetric} bytes per device-metric (snapshot ${rules.snapshotMs} ms)`,
  );
  console.log(
    `rules    the same without the control chart, the health index and the operating state: ${rulesBefore.readingsPerS.toLocaleString('en')} readings/s = ${rulesBefore.evaluationsPerS.toLocaleString('en')} evaluations/s (${rulesBefore.rulesPerReading} rules per reading); state ${rulesBefore.stateBytesPerDeviceMetric} bytes per device-metric`,
  );
  const rules100k = benchRules(100_000);
  console.log(
    `rules    default ruleset, 100,000 device-metrics, one core: ${rules100k.readingsPerS.toLocaleString('en')} readings/s = ${rules100k.evaluationsPerS.toLocaleString('en')} rule evaluations/s; state ${rules100k.stateBytesPerDeviceMetric} bytes per device-metric (snapshot ${rules100k.snapshotMs} ms; with a tenth of the fleet changed since, ${rules100k.changedSnapshotMs} ms for ${rules100k.changedSnapshotRows.toLocaleString('en')} rows)`,
  );
  // Each size in its own server process: 20 rounds of every device-metric first (baselines learned,
  // history minutes closing), then the timed rounds, one minute of sample time per round.
  const fleet = [];
  for (const series of FLEET) {
    const f = await benchFleet(series, vm.url, tmp.dir);
    fleet.push(f);
    console.log(
      `fleet    ${series.toLocaleString('en').padStart(7)} device-metrics (rules, history, TSDB; 250 readings/Envelope): ${f.readingsPerS.toLocaleString('en').padStart(7)} readings/s, server RSS ${f.rssMB} MB under load (heap ${f.heapTotalMB} MB), ${f.rssAtRestMB} MB at rest, heap in use ${f.heapBytesPerDeviceMetric.toLocaleString('en')} B per device-metric`,
    );
  }
  const small = fleet.find((f) => f.series === 1000);
  const at100k = fleet.find((f) => f.series === 100_000);
  // What one more device-metric costs: the RSS of 100,000 less that of 1,000, per device-metric between
  // them. Measured at rest (the intake idle for 5 s, V8's memory reducer done): what holding the fleet
  // costs. Under full load V8 lets its heap grow to two or three times what is live, trading memory for
  // less GC time; that figure is printed beside it.
  const perDm = (a: number, b: number) => Math.round(((b - a) * 1048576) / (at100k!.series - small!.series));
  const rssPerDm = small && at100k ? perDm(small.rssAtRestMB, at100k.rssAtRestMB) : undefined;
  const rssUnderLoadPerDm = small && at100k ? perDm(small.rssMB, at100k.rssMB) : undefined;
  if (small && at100k) {
    console.log(
      `fleet    100,000 device-metrics at ${((at100k.readingsPerS / small.readingsPerS) * 100).toFixed(0)}% of the 1,000 figure; ${rssPerDm?.toLocaleString('en')} bytes of RSS per device-metric at rest (${small.rssAtRestMB} -> ${at100k.rssAtRestMB} MB), ${rssUnderLoadPerDm?.toLocaleString('en')} under full load (${small.rssMB} -> ${at100k.rssMB} MB)`,
    );
  }
  // The console's routes on a server that knows the whole fleet, with a tenth of it holding an open ticket.
  const api = await benchApi(Number(values['api-devices']), vm.url, tmp.dir);
  console.log(
    `api      ${api.devices.toLocaleString('en')} devices, ${api.openTickets.toLocaleString('en')} open tickets, p95 of 40 calls: ${Object.entries(api.routes)
      .map(([name, r]) => `${name} ${r.p95Ms} ms`)
      .join(', ')}`,
  );
  const stores = await benchStores(tmp.dir);
  const tk = stores.sqlite;
  const kpi = await benchKpis(tmp.dir);
  for (const l of describeStores(stores)) console.log(l);
  const cases = await benchCases();
  console.log(`cases    ${cases.cases.toLocaleString('en')} cases: similar ${cases.similarMs} ms, search by words ${cases.searchWordsMs} ms, by code ${cases.searchCodeMs} ms per call; new tickets ${cases.newTicketsPerS.toLocaleString('en')}/s (${cases.newTicketsPerSEmpty.toLocaleString('en')}/s with no case)`);
  const best = rows.reduce((a, b) => (b.intake > a.intake ? b : a));
  console.log(`kpis     a year of ${kpi.tickets.toLocaleString('en')} stored tickets (200 sites): by site and month ${kpi.bySiteMonthMs} ms (${kpi.rows.toLocaleString('en')} rows); by source and week ${kpi.bySourceWeekMs} ms`);
  console.log(`\ntargets: intake >= 150,000 readings/s and >= 60% of minimal; gateway >= 20,000 readings/s; Modbus 200 devices at 1 Hz under 7.5% of a core (Node-RED with node-red-contrib-modbus on the same devices), >= 2,000 polls/s maximum; vigil --help under 300 ms, idle gateway under 80 MB; rules >= 1,000,000 evaluations/s, <= 2 KB state per device-metric; tickets >= 1,000 findings/s, webhooks >= 200 deliveries/s; KPIs over 1,000,000 tickets under 1 s; fleet 100,000 device-metrics >= 60% of 1,000, <= 3,072 B RSS per device-metric; rules at 100,000 device-metrics >= 1,500,000 evaluations/s; API p95 under 200 ms at 50,000 devices; similar cases under 50 ms and new tickets >= 1,000/s with 20,000 cases; 2 server workers >= 400,000 readings/s and >= 1.6x one`);
  console.log(`best intake ${best.intake.toLocaleString('en')} readings/s at ${best.size}/Envelope (${(best.ratio * 100).toFixed(0)}% of minimal)`);
  if (values.json) {
    console.log(
      JSON.stringify({
        intake_readings_per_s: best.intake,
        server_workers_readings_per_s: twoWorkers,
        server_1_worker_readings_per_s: oneWorker,
        server_workers_speedup: Number((twoWorkers / oneWorker).toFixed(2)),
        server_workers_runs: w1,
        minimal_pipeline_readings_per_s: best.minimal,
        intake_to_minimal_ratio: Number(best.ratio.toFixed(3)),
        gateway_readings_per_s: gw.readingsPerS,
        modbus_polls_per_s_at_1hz: mb.at1hz.pollsPerS,
        modbus_p99_poll_ms_at_1hz: mb.at1hz.p99Ms,
        modbus_gateway_cpu_pct_at_1hz: mb.at1hz.cpuPct,
        modbus_max_polls_per_s: mb.max.pollsPerS,
        modbus_cpu_pct_per_1000_values_per_s: mb.at1hz.cpuPctPer1000ValuesPerS,
        cli_help_ms: start.helpMs,
        gateway_idle_rss_mb: mb.idleRssMB,
        gateway_idle_rss_mb_systemd_unit: mb.idleRssUnitMB,
        rules_readings_per_s: rules.readingsPerS,
        rules_evaluations_per_s: rules.evaluationsPerS,
        rules_state_bytes_per_device_metric: rules.stateBytesPerDeviceMetric,
        rules_readings_per_s_without_new_kinds: rulesBefore.readingsPerS,
        rules_evaluations_per_s_without_new_kinds: rulesBefore.evaluationsPerS,
        rules_state_bytes_per_device_metric_without_new_kinds: rulesBefore.stateBytesPerDeviceMetric,
        tickets_flood_findings_per_s: tk.floodFindingsPerS,
        tickets_new_per_s: tk.newTicketsPerS,
        cases_similar_ms: cases.similarMs,
        cases_search_words_ms: cases.searchWordsMs,
        cases_search_code_ms: cases.searchCodeMs,
        cases_20k_new_tickets_per_s: cases.newTicketsPerS,
        cases_0_new_tickets_per_s: cases.newTicketsPerSEmpty,
        kpi_1m_tickets_site_month_ms: kpi.bySiteMonthMs,
        kpi_1m_tickets_source_week_ms: kpi.bySourceWeekMs,
        webhook_deliveries_per_s: tk.webhookDeliveriesPerS,
        postgres_tickets_flood_findings_per_s: stores.postgres.floodFindingsPerS,
        postgres_tickets_new_per_s: stores.postgres.newTicketsPerS,
        postgres_webhook_deliveries_per_s: stores.postgres.webhookDeliveriesPerS,
        rules_100k_readings_per_s: rules100k.readingsPerS,
        rules_100k_evaluations_per_s: rules100k.evaluationsPerS,
        rules_100k_state_bytes_per_device_metric: rules100k.stateBytesPerDeviceMetric,
        rules_100k_snapshot_ms: rules100k.snapshotMs,
        rules_100k_changed_tenth_snapshot_ms: rules100k.changedSnapshotMs,
        fleet_scaling: Object.fromEntries(fleet.map((f) => [f.series, { readings_per_s: f.readingsPerS, rss_mb: f.rssMB, rss_at_rest_mb: f.rssAtRestMB, heap_bytes_per_device_metric: f.heapBytesPerDeviceMetric }])),
        rss_bytes_per_device_metric: rssPerDm ?? null,
        rss_under_load_bytes_per_device_metric: rssUnderLoadPerDm ?? null,
        api_devices: api.devices,
        api_p95_ms: Object.fromEntries(Object.entries(api.routes).map(([name, r]) => [name, r.p95Ms])),
        intake_by_envelope_size: Object.fromEntries(rows.map((r) => [r.size, { intake: r.intake, minimal: r.minimal, ratio: Number(r.ratio.toFixed(3)) }])),
      }),
    );
  }
} finally {
  await vm.destroy();
  tmp.cleanup();
}
