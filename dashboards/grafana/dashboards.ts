import type { MetricId } from '../../core/index.ts';
import { unitOf } from '../../core/index.ts';

/**
 * Grafana dashboards as code: fleet, device, pipeline and the service desk's KPIs, in two flavours
 * over the same telemetry (the KPIs come from the server's /metrics in both).
 * - `influxdb2/`: Flux on InfluxDB 2 (measurement `telemetry`, one field per catalog metric, tags
 *   site, gateway, device, and `quality` on readings that are not good).
 * - `promql/`: PromQL on VictoriaMetrics (or any Prometheus-compatible store fed the same line
 *   protocol), where each field becomes a series `telemetry_<metric>` with the same labels.
 * The pipeline dashboard's server panels read the server's own `/metrics` through a Prometheus
 * datasource in both. `UPDATE_DASHBOARDS=1 npx vitest run dashboards/grafana` writes the JSON files
 * Grafana provisions; a unit test keeps them equal to this, and an end-to-end test runs every PromQL
 * query against a real VictoriaMetrics holding the demo's data.
 */

const INFLUX = { type: 'influxdb', uid: 'vigil-influx' };
const VM = { type: 'prometheus', uid: 'vigil-victoriametrics' };
const PROM = { type: 'prometheus', uid: 'vigil-prometheus' };
const GRAFANA_UNITS: Record<string, string> = { 'mm/s': 'velocitymms', g: 'accG', '°C': 'celsius', A: 'amp', rpm: 'rpm', '': 'none' };

type Panel = Record<string, unknown>;
type Datasource = typeof INFLUX | typeof VM | typeof PROM;
interface Query {
  query: string;
  legend?: string;
}

/** How one flavour asks for a metric's values, and for the template variables. */
interface Flavour {
  ds: Datasource;
  /** One metric: per device across the selected sites, or of the selected device. */
  metric(m: MetricId, scope: 'by-device' | 'one-device'): Query;
  /** How many values were stored per window, by gateway. */
  storedByGateway(): Query;
  siteVar: Record<string, unknown>;
  deviceVar: Record<string, unknown>;
  extraVars: Record<string, unknown>[];
}

function flux(field: MetricId | null, opts: { device?: boolean; fn?: string; group?: string } = {}): string {
  // Readings a sensor marked bad are stored with quality=bad for inspection; charts leave them out.
  const filters = [`r._measurement == "telemetry"`, ...(field ? [`r._field == "${field}"`] : []), `r.site =~ /^\${site:regex}$/`, '(not exists r.quality or r.quality != "bad")', ...(opts.device ? [`r.device == "\${device}"`] : [])];
  return [
    'from(bucket: "${bucket}")',
    '  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)',
    `  |> filter(fn: (r) => ${filters.join(' and ')})`,
    ...(opts.group ? [`  |> group(columns: ["${opts.group}"])`] : []),
    `  |> aggregateWindow(every: v.windowPeriod, fn: ${opts.fn ?? 'mean'}, createEmpty: false)`,
  ].join('\n');
}

const INFLUXDB2: Flavour = {
  ds: INFLUX,
  metric: (m, scope) => ({ query: flux(m, scope === 'one-device' ? { device: true } : { group: 'device' }) }),
  storedByGateway: () => ({ query: flux(null, { fn: 'count', group: 'gateway' }) }),
  siteVar: { name: 'site', type: 'query', datasource: INFLUX, query: 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${bucket}", tag: "site")', includeAll: true, multi: true, current: { text: 'All', value: '$__all' } },
  deviceVar: { name: 'device', type: 'query', datasource: INFLUX, query: 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${bucket}", tag: "device")' },
  extraVars: [{ name: 'bucket', type: 'constant', query: 'telemetry', hide: 2 }],
};

// `quality!="bad"` also matches series without the label: good readings carry none.
const PROMQL: Flavour = {
  ds: VM,
  metric: (m, scope) =>
    scope === 'one-device'
      ? { query: `avg by (device) (telemetry_${m}{device="$device", quality!="bad"})`, legend: '{{device}}' }
      : { query: `avg by (device) (telemetry_${m}{site=~"$site", quality!="bad"})`, legend: '{{device}}' },
  storedByGateway: () => ({ query: 'sum by (gateway) (count_over_time({__name__=~"telemetry_.+", site=~"$site"}[$__interval]))', legend: '{{gateway}}' }),
  siteVar: { name: 'site', type: 'query', datasource: VM, query: 'label_values({__name__=~"telemetry_.+"}, site)', includeAll: true, multi: true, allValue: '.*', current: { text: 'All', value: '$__all' } },
  deviceVar: { name: 'device', type: 'query', datasource: VM, query: 'label_values({__name__=~"telemetry_.+", site=~"$site"}, device)' },
  extraVars: [],
};

export const FLAVOURS = { influxdb2: INFLUXDB2, promql: PROMQL } as const;
export type FlavourName = keyof typeof FLAVOURS;

let nextId = 1;

function timeseries(title: string, queries: Query[], unit: string, grid: { x: number; y: number; w?: number; h?: number }, ds: Datasource): Panel {
  return {
    id: nextId++,
    type: 'timeseries',
    title,
    datasource: ds,
    gridPos: { x: grid.x, y: grid.y, w: grid.w ?? 12, h: grid.h ?? 8 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: queries.map((q, i) => (ds === INFLUX ? { refId: String.fromCharCode(65 + i), datasource: ds, query: q.query } : { refId: String.fromCharCode(65 + i), datasource: ds, expr: q.query, legendFormat: q.legend ?? '' })),
  };
}

const unit = (m: MetricId) => GRAFANA_UNITS[unitOf(m)] ?? 'none';

function dashboard(uid: string, title: string, panels: Panel[], variables: unknown[]): Record<string, unknown> {
  return { uid, title, tags: ['vigil'], schemaVersion: 39, version: 1, editable: true, time: { from: 'now-7d', to: 'now' }, refresh: '30s', templating: { list: variables }, panels };
}

const FLEET: [MetricId, string][] = [
  ['vibration_rms', 'Vibration velocity (RMS) by device'],
  ['vibration_kurtosis', 'Kurtosis by device (healthy ≈ 3)'],
  ['bearing_temp', 'Bearing temperature by device'],
  ['vibration_accel_rms', 'Vibration acceleration (RMS) by device'],
];

const DEVICE: [MetricId, string][] = [
  ['vibration_rms', 'Vibration velocity (RMS)'],
  ['vibration_accel_rms', 'Vibration acceleration (RMS)'],
  ['vibration_kurtosis', 'Kurtosis'],
  ['vibration_crest', 'Crest factor'],
  ['bearing_temp', 'Bearing temperature'],
  ['motor_temp', 'Motor temperature'],
  ['motor_current', 'Motor current'],
  ['speed_rpm', 'Speed'],
];

export function fleetDashboard(f: Flavour): Record<string, unknown> {
  nextId = 1;
  const suffix = f === PROMQL ? '-promql' : '';
  return dashboard(
    `vigil-fleet${suffix}`,
    `Vigil · Fleet${suffix ? ' (PromQL)' : ''}`,
    FLEET.map(([m, t], i) => timeseries(t, [f.metric(m, 'by-device')], unit(m), { x: (i % 2) * 12, y: Math.floor(i / 2) * 8 }, f.ds)),
    [...f.extraVars, f.siteVar],
  );
}

export function deviceDashboard(f: Flavour): Record<string, unknown> {
  nextId = 1;
  const suffix = f === PROMQL ? '-promql' : '';
  return dashboard(
    `vigil-device${suffix}`,
    `Vigil · Device${suffix ? ' (PromQL)' : ''}`,
    DEVICE.map(([m, t], i) => timeseries(`${t} · \${device}`, [f.metric(m, 'one-device')], unit(m), { x: (i % 2) * 12, y: Math.floor(i / 2) * 8 }, f.ds)),
    [...f.extraVars, f.siteVar, f.deviceVar],
  );
}

export function pipelineDashboard(f: Flavour): Record<string, unknown> {
  nextId = 1;
  const suffix = f === PROMQL ? '-promql' : '';
  return dashboard(
    `vigil-pipeline${suffix}`,
    `Vigil · Pipeline${suffix ? ' (PromQL)' : ''}`,
    [
      timeseries('Values stored per window, by gateway', [f.storedByGateway()], 'none', { x: 0, y: 0 }, f.ds),
      timeseries('Readings accepted per second', [{ query: 'sum(rate(vigil_readings_ingested_total[5m]))', legend: 'accepted' }, { query: 'sum by (code) (rate(vigil_readings_rejected_total[5m])) or on() vector(0)', legend: 'refused {{code}}' }], 'ops', { x: 12, y: 0 }, PROM),
      timeseries('TSDB spool depth', [{ query: 'vigil_tsdb_spool_readings', legend: 'readings waiting' }], 'none', { x: 0, y: 8 }, PROM),
      timeseries('Webhook outbox', [{ query: 'vigil_webhook_outbox', legend: '{{status}}' }], 'none', { x: 12, y: 8 }, PROM),
      timeseries('Tickets by status', [{ query: 'vigil_tickets', legend: '{{status}}' }], 'none', { x: 0, y: 16 }, PROM),
      timeseries('Findings per hour', [{ query: 'sum by (severity) (increase(vigil_findings_total{event="fire"}[1h]))', legend: '{{severity}}' }], 'none', { x: 12, y: 16 }, PROM),
    ],
    [...f.extraVars, f.siteVar],
  );
}

const KPIS: [string, string, string][] = [
  ['response_minutes', 'Response time, mean (minutes), this month', 'm'],
  ['first_time_fix', 'First-time fix, this month', 'percentunit'],
  ['resolution', 'Resolved within SLA, this month', 'percentunit'],
  ['satisfaction', 'Satisfied customers (4–5 of 5), this month', 'percentunit'],
  ['predicted_share', 'Raised before the customer noticed, this month', 'percentunit'],
  ['nps', 'NPS, this month', 'none'],
];

/** The service desk's KPIs per site, from the server's /metrics, each with its target as a line. */
export function deskDashboard(f: Flavour): Record<string, unknown> {
  nextId = 1;
  const suffix = f === PROMQL ? '-promql' : '';
  return dashboard(
    `vigil-desk${suffix}`,
    `Vigil · Service desk KPIs${suffix ? ' (PromQL)' : ''}`,
    KPIS.map(([kpi, title, u], i) =>
      timeseries(title, [{ query: `vigil_kpi{kpi="${kpi}"}`, legend: '{{site}}' }, ...(kpi === 'nps' || kpi === 'predicted_share' ? [] : [{ query: `vigil_kpi_target{kpi="${kpi}"}`, legend: 'target' }])], u, { x: (i % 2) * 12, y: Math.floor(i / 2) * 8 }, PROM),
    ),
    [...f.extraVars],
  );
}

/** Every dashboard file, by its path under `dashboards/grafana/dashboards/`. */
export const DASHBOARDS: Record<string, () => Record<string, unknown>> = Object.fromEntries(
  (Object.entries(FLAVOURS) as [FlavourName, Flavour][]).flatMap(([name, f]) => [
    [`${name}/fleet.json`, () => fleetDashboard(f)],
    [`${name}/device.json`, () => deviceDashboard(f)],
    [`${name}/pipeline.json`, () => pipelineDashboard(f)],
    [`${name}/desk.json`, () => deskDashboard(f)],
  ]),
);
