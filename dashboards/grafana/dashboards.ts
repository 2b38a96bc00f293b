import type { MetricId } from '../../core/index.ts';
import { unitOf } from '../../core/index.ts';

/**
 * Grafana dashboards as code: fleet, device and pipeline, over the `telemetry` measurement (one field
 * per catalog metric; tags site, gateway, device) through the InfluxDB Flux datasource, plus the
 * server's own Prometheus metrics on the pipeline dashboard. `UPDATE_DASHBOARDS=1 npx vitest run dashboards/grafana` writes the JSON files
 * Grafana provisions; a unit test keeps them equal to this and checks every name against the catalog.
 */

const INFLUX = { type: 'influxdb', uid: 'vigil-influx' };
const PROM = { type: 'prometheus', uid: 'vigil-prometheus' };
const GRAFANA_UNITS: Record<string, string> = { 'mm/s': 'velocitymms', g: 'accG', '°C': 'celsius', '': 'none' };

type Panel = Record<string, unknown>;
let nextId = 1;

function flux(field: MetricId | null, opts: { device?: boolean; fn?: string; group?: string } = {}): string {
  const filters = [`r._measurement == "telemetry"`, ...(field ? [`r._field == "${field}"`] : []), `r.site =~ /^\${site:regex}$/`, ...(opts.device ? [`r.device == "\${device}"`] : [])];
  return [
    'from(bucket: "${bucket}")',
    '  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)',
    `  |> filter(fn: (r) => ${filters.join(' and ')})`,
    ...(opts.group ? [`  |> group(columns: ["${opts.group}"])`] : []),
    `  |> aggregateWindow(every: v.windowPeriod, fn: ${opts.fn ?? 'mean'}, createEmpty: false)`,
  ].join('\n');
}

function timeseries(title: string, queries: { query: string; legend?: string }[], unit: string, grid: { x: number; y: number; w?: number; h?: number }, ds = INFLUX): Panel {
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

const metricPanel = (m: MetricId, title: string, grid: { x: number; y: number }, device: boolean) =>
  timeseries(title, [{ query: flux(m, { device, group: device ? undefined : 'device' }) }], GRAFANA_UNITS[unitOf(m)] ?? 'none', grid);

const siteVar = { name: 'site', type: 'query', datasource: INFLUX, query: 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${bucket}", tag: "site")', includeAll: true, multi: true, current: { text: 'All', value: '$__all' } };
const bucketVar = { name: 'bucket', type: 'constant', query: 'telemetry', hide: 2 };

function dashboard(uid: string, title: string, panels: Panel[], variables: unknown[]): Record<string, unknown> {
  return { uid, title, tags: ['vigil'], schemaVersion: 39, version: 1, editable: true, time: { from: 'now-7d', to: 'now' }, refresh: '30s', templating: { list: variables }, panels };
}

export function fleetDashboard(): Record<string, unknown> {
  nextId = 1;
  return dashboard(
    'vigil-fleet',
    'Vigil · Fleet',
    [
      metricPanel('vibration_rms', 'Vibration velocity (RMS) by device', { x: 0, y: 0 }, false),
      metricPanel('vibration_kurtosis', 'Kurtosis by device (healthy ≈ 3)', { x: 12, y: 0 }, false),
      metricPanel('bearing_temp', 'Bearing temperature by device', { x: 0, y: 8 }, false),
      metricPanel('vibration_accel_rms', 'Vibration acceleration (RMS) by device', { x: 12, y: 8 }, false),
    ],
    [bucketVar, siteVar],
  );
}

export function deviceDashboard(): Record<string, unknown> {
  nextId = 1;
  const deviceVar = { name: 'device', type: 'query', datasource: INFLUX, query: 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${bucket}", tag: "device")' };
  const metrics: [MetricId, string][] = [
    ['vibration_rms', 'Vibration velocity (RMS)'],
    ['vibration_accel_rms', 'Vibration acceleration (RMS)'],
    ['vibration_kurtosis', 'Kurtosis'],
    ['vibration_crest', 'Crest factor'],
    ['bearing_temp', 'Bearing temperature'],
  ];
  return dashboard(
    'vigil-device',
    'Vigil · Device',
    metrics.map(([m, t], i) => metricPanel(m, `${t} · \${device}`, { x: (i % 2) * 12, y: Math.floor(i / 2) * 8 }, true)),
    [bucketVar, siteVar, deviceVar],
  );
}

export function pipelineDashboard(): Record<string, unknown> {
  nextId = 1;
  return dashboard(
    'vigil-pipeline',
    'Vigil · Pipeline',
    [
      timeseries('Values stored per window, by gateway', [{ query: flux(null, { fn: 'count', group: 'gateway' }) }], 'none', { x: 0, y: 0 }),
      timeseries('Readings accepted per second', [{ query: 'sum(rate(vigil_readings_ingested_total[5m]))', legend: 'accepted' }, { query: 'sum by (code) (rate(vigil_readings_rejected_total[5m]))', legend: 'refused {{code}}' }], 'ops', { x: 12, y: 0 }, PROM),
      timeseries('TSDB spool depth', [{ query: 'vigil_tsdb_spool_readings', legend: 'readings waiting' }], 'none', { x: 0, y: 8 }, PROM),
      timeseries('Webhook outbox', [{ query: 'vigil_webhook_outbox', legend: '{{status}}' }], 'none', { x: 12, y: 8 }, PROM),
      timeseries('Tickets by status', [{ query: 'vigil_tickets', legend: '{{status}}' }], 'none', { x: 0, y: 16 }, PROM),
      timeseries('Findings per hour', [{ query: 'sum by (severity) (increase(vigil_findings_total{event="fire"}[1h]))', legend: '{{severity}}' }], 'none', { x: 12, y: 16 }, PROM),
    ],
    [bucketVar, siteVar],
  );
}

export const DASHBOARDS = { 'fleet.json': fleetDashboard, 'device.json': deviceDashboard, 'pipeline.json': pipelineDashboard };
