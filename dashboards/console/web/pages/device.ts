import uPlot from 'uplot';
import { type Me, api, liveReadings } from '../api.ts';
import { annotate, chartWidth } from '../chart.ts';
import { describeEvidence } from '../describe.ts';
import { badge, h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface Overview {
  device: { deviceId: string; site: string; gatewayId: string; lastSeen: number; values: Record<string, { value: number; ts: number; quality?: string }>; state?: string; untrusted?: Partial<Record<'bad' | 'uncertain', number>> };
  gateway: { state: string; lastEnvelopeAt?: number } | null;
  health: string;
  reasons: string[];
  assetClass: string | null;
  rules: { ruleId: string; kind: string; metric: string; fault: string; limits: { warning?: number; critical?: number; dir?: number } | null }[];
  baselines: { ruleId: string; metric: string; baseline: number; deviation: number; measure: string }[];
  alerts: { ruleId: string; metric: string; phase: string; severity: string; since: number; firedAt: number | null; evidence: Record<string, unknown> }[];
  tickets: { id: number; title: string; status: string; priority: string; firstSeenAt: number; createdAt: number }[];
}
type Series = Record<string, { t: number[]; mean: number[]; min: number[]; max: number[] }>;

/** The metrics to chart: every one the device reports, and any that a rule or an alert is about. */
export function metricsOf(o: Pick<Overview, 'device' | 'rules' | 'alerts'>): string[] {
  const all = new Set([...Object.keys(o.device.values), ...o.rules.map((r) => r.metric), ...o.alerts.map((a) => a.metric)]);
  all.delete('*');
  return [...all].sort().slice(0, 10);
}
const RANGES: Record<string, number> = { '6 h': 6 * 3_600_000, '24 h': 86_400_000, '7 days': 7 * 86_400_000, '30 days': 30 * 86_400_000 };

/** Where a metric's alerts fire, as values on its own axis: fixed limits, or limits relative to the learned baseline. */
export function absoluteLimits(metric: string, o: Pick<Overview, 'rules' | 'baselines'>): { warning?: number; critical?: number } {
  const out: { warning?: number; critical?: number } = {};
  const lower = (k: 'warning' | 'critical', v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v) && (out[k] === undefined || v < out[k]!)) out[k] = v;
  };
  for (const r of o.rules) {
    if (r.metric !== metric || !r.limits || r.limits.dir === -1) continue;
    if (r.kind === 'threshold') {
      lower('warning', r.limits.warning);
      lower('critical', r.limits.critical);
    }
    if (r.kind === 'baseline') {
      const b = o.baselines.find((x) => x.ruleId === r.ruleId && x.metric === metric);
      if (!b) continue;
      const at = (lim: number | undefined) => (lim === undefined ? undefined : b.measure === 'ratio' ? b.baseline * lim : b.baseline + lim * b.deviation);
      lower('warning', at(r.limits.warning));
      lower('critical', at(r.limits.critical));
    }
  }
  return out;
}

export function devicePage(root: HTMLElement, _me: Me, deviceId: string): Page {
  let range = '7 days';
  const rangeSelect = h('select', { id: 'range' }, ...Object.keys(RANGES).map((r) => h('option', { value: r, selected: r === range }, r)));
  rangeSelect.addEventListener('change', () => {
    range = rangeSelect.value;
    void page.refresh();
  });
  const head = h('div');
  const charts = h('div', { class: 'charts' });
  const side = h('div');
  root.append(h('h1', {}, `Device ${deviceId}`), head, h('div', { class: 'filters' }, h('label', {}, 'Range', rangeSelect)), charts, side);
  let plots: uPlot[] = [];
  const tails = new Map<string, { plot: uPlot; data: (number | null)[][] }>();
  // The live tail: each new reading is appended to its chart as it arrives, between full refreshes.
  const es = liveReadings(deviceId, (items) => {
    for (const it of items) {
      const s = tails.get(it.metric);
      if (!s) continue;
      const x = it.ts / 1000;
      if (x <= (s.data[0]!.at(-1) ?? 0)) continue;
      s.data[0]!.push(x);
      s.data[1]!.push(it.value);
      for (let i = 2; i < s.data.length; i++) s.data[i]!.push(s.data[i]!.at(-1) ?? null);
      s.plot.setData(s.data as uPlot.AlignedData);
      s.plot.root.parentElement?.setAttribute('data-points', String(s.data[0]!.length));
      // What the stream brought, as opposed to the 5-second refresh from the stored history.
      s.plot.root.parentElement?.setAttribute('data-live-at', String(it.ts));
    }
  });

  const page: Page = {
    close: () => es.close(),
    async refresh() {
      const to = Date.now();
      const o = await api<Overview>(`/api/v1/devices/${encodeURIComponent(deviceId)}/overview`);
      const metrics = metricsOf(o);
      const hist = metrics.length ? await api<{ series: Series }>(`/api/v1/history?device=${encodeURIComponent(deviceId)}&metrics=${metrics.join(',')}&from=${to - RANGES[range]!}&to=${to}`) : { series: {} as Series };
      const untrusted = Object.entries(o.device.untrusted ?? {}).filter(([, n]) => (n ?? 0) > 0);
      const flagged = Object.entries(o.device.values).filter(([, v]) => v.quality);
      head.replaceChildren(
        h('p', {}, badge(o.health), o.reasons.length ? ` ${o.reasons.join('; ')} ·` : '', ` site ${o.device.site} · gateway ${o.device.gatewayId} (${o.gateway?.state ?? 'unknown'}) · asset class ${o.assetClass ?? 'none'} · last seen ${time(o.device.lastSeen)}`),
        ...(untrusted.length || flagged.length
          ? [
              h(
                'p',
                { class: 'quality' },
                `Readings the sensor marked as not good (stored, kept out of rules and charts): ${untrusted.map(([q, n]) => `${n} ${q}`).join(', ') || 'none since start'}`,
                flagged.length ? ` · last value ${flagged.map(([m, v]) => `${m} ${v.value} (${v.quality}, ${time(v.ts)})`).join(', ')}` : '',
              ),
            ]
          : []),
      );
      for (const p of plots) p.destroy();
      plots = [];
      tails.clear();
      charts.replaceChildren();
      for (const metric of metrics) {
        let s = hist.series[metric];
        // No stored minute yet (a new device, a metric that just appeared): chart its last value, so
        // the chart and any alert on it are there from the first reading.
        const last = o.device.values[metric];
        if ((!s || s.t.length === 0) && last) s = { t: [last.ts], mean: [last.value], min: [last.value], max: [last.value] };
        if (!s || s.t.length === 0) {
          if (o.alerts.some((a) => a.metric === metric)) charts.append(h('figure', { 'data-metric': metric, 'data-alerts': o.alerts.filter((a) => a.metric === metric).length }, h('figcaption', {}, `${metric}: no readings to chart yet; alert ${o.alerts.filter((a) => a.metric === metric).map((a) => `${a.ruleId} ${a.phase} (${a.severity})`).join(', ')}`)));
          continue;
        }
        charts.append(chart(metric, s, o));
      }
      side.replaceChildren(
        h('h2', {}, 'Alerts'),
        o.alerts.length === 0
          ? h('p', { class: 'muted' }, 'No alert is pending or firing.')
          : h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Rule'), h('th', {}, 'Metric'), h('th', {}, 'State'), h('th', {}, 'Since'), h('th', { class: 'wide' }, 'Evidence'))),
              h('tbody', {}, ...o.alerts.map((a) => h('tr', {}, h('td', {}, a.ruleId), h('td', {}, a.metric), h('td', {}, `${a.phase} (${a.severity})`), h('td', {}, time(a.since)), h('td', { class: 'wide evidence' }, describeEvidence(a.evidence)))))),
        h('h2', {}, 'Tickets'),
        o.tickets.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('ul', {}, ...o.tickets.map((t) => h('li', {}, h('a', { href: `#/tickets` }, `#${t.id}`), ` ${t.priority} ${t.status}: ${t.title}`))),
        h('h2', {}, 'Rules on this device'),
        h('ul', {}, ...o.rules.map((r) => h('li', {}, `${r.ruleId} (${r.kind}) on ${r.metric}: ${r.fault}`))),
      );
    },
  };

  function chart(metric: string, s: Series[string], o: Overview): HTMLElement {
    const x = s.t.map((t) => t / 1000);
    const b = o.baselines.find((v) => v.metric === metric);
    const lim = absoluteLimits(metric, o);
    const flat = (v: number | undefined) => x.map(() => v ?? null);
    const data: (number | null)[][] = [x, s.mean];
    const series: uPlot.Series[] = [{}, { label: metric, stroke: '#0969da', width: 1.5 }];
    const names = ['value'];
    if (b) {
      data.push(flat(b.baseline), flat(b.baseline + 2 * b.deviation), flat(Math.max(0, b.baseline - 2 * b.deviation)));
      series.push({ label: 'baseline', stroke: '#57606a', dash: [6, 4] }, { label: 'band high', stroke: '#8c959f', width: 0.5 }, { label: 'band low', stroke: '#8c959f', width: 0.5 });
      names.push('baseline', 'band');
    }
    for (const [level, colour] of [['warning', '#9a6700'], ['critical', '#cf222e']] as const) {
      if (lim[level] === undefined) continue;
      data.push(flat(lim[level]));
      series.push({ label: level, stroke: colour, dash: [2, 2] });
      names.push(level);
    }
    const markers = o.tickets.map((t) => ({ at: t.firstSeenAt / 1000, label: `ticket #${t.id}`, colour: '#8250df' }));
    const now = Date.now() / 1000;
    const alerts = o.alerts.filter((a) => a.metric === metric);
    const regions = alerts.map((a) => ({ from: (a.firedAt ?? a.since) / 1000, to: now, label: `${a.severity} ${a.phase}: ${a.ruleId}`, colour: a.severity === 'critical' ? '#cf222e' : '#9a6700' }));
    const fig = h(
      'figure',
      { 'data-metric': metric, 'data-series': names.join(','), 'data-markers': markers.length, 'data-alerts': alerts.length, 'data-points': x.length },
      h('figcaption', {}, `${metric}${b ? ` (baseline ${b.baseline.toFixed(2)})` : ''}${lim.warning !== undefined ? `, warning at ${lim.warning.toFixed(2)}` : ''}${lim.critical !== undefined ? `, critical at ${lim.critical.toFixed(2)}` : ''}${alerts.length ? ` · alert: ${alerts.map((a) => `${a.ruleId} ${a.phase} (${a.severity}) since ${time(a.firedAt ?? a.since)}`).join(', ')}` : ''}`),
    );
    const opts: uPlot.Options = {
      width: chartWidth(root),
      height: 240,
      series,
      ...(b ? { bands: [{ series: [3, 4], fill: 'rgba(140,149,159,0.15)' }] } : {}),
      // The x range reaches now while an alert is on, so its shading has room even when the last
      // stored minute is older (or there is a single point).
      ...(alerts.length ? { scales: { x: { time: true, range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [Math.min(min, now - 3600), Math.max(max, now)] } } } : {}),
      hooks: { draw: [annotate(markers, regions)] },
    };
    const plot = new uPlot(opts, data as uPlot.AlignedData, fig);
    plots.push(plot);
    tails.set(metric, { plot, data });
    return fig;
  }
  return page;
}
