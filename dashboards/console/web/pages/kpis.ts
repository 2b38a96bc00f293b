import uPlot from 'uplot';
import { type Me, api, downloadCsv } from '../api.ts';
import { chartWidth } from '../chart.ts';
import { h } from '../dom.ts';
import type { Page } from '../main.ts';

interface Row {
  group: string;
  period: string;
  periodStart: number;
  opened: number;
  response: { responded: number; meanMinutes: number | null; p90Minutes: number | null; withinSla: number | null };
  firstTimeFix: { judged: number; rate: number | null };
  resolution: { due: number; rate: number | null };
  satisfaction: { answered: number; rate: number | null; answerRate: number | null };
  nps: { answered: number; score: number | null };
  mttrHours: number | null;
  predictedShare: number | null;
  belowTarget: string[];
}
interface Kpis {
  from: number;
  to: number;
  targets: { responseMinutes: number; firstTimeFix: number; resolution: number; satisfaction: number };
  industry: { firstTimeFix: { average: number[]; bestInClass: number; source: string } };
  rows: Row[];
}

const pct = (v: number | null) => (v === null ? '–' : `${Math.round(v * 1000) / 10} %`);
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toLocaleString(undefined, { maximumFractionDigits: digits }));

// The four figures the desk is judged by, each with how to read it against its target.
const CHARTS = [
  { key: 'response', title: 'Response time, mean (minutes)', value: (r: Row) => r.response.meanMinutes, target: (k: Kpis) => k.targets.responseMinutes, below: 'response' },
  { key: 'firstTimeFix', title: 'First-time fix', value: (r: Row) => r.firstTimeFix.rate, target: (k: Kpis) => k.targets.firstTimeFix, below: 'firstTimeFix' },
  { key: 'resolution', title: 'Resolved within SLA', value: (r: Row) => r.resolution.rate, target: (k: Kpis) => k.targets.resolution, below: 'resolution' },
  { key: 'satisfaction', title: 'Satisfied customers (4–5 of 5)', value: (r: Row) => r.satisfaction.rate, target: (k: Kpis) => k.targets.satisfaction, below: 'satisfaction' },
] as const;
const COLOURS = ['#0969da', '#8250df', '#1a7f37', '#bf8700', '#cf222e', '#57606a'];

/** The desk's KPIs: a table per group and period (red below target) and each figure charted over weeks. */
export function kpisPage(root: HTMLElement, _me: Me): Page {
  const groupBy = h('select', { name: 'groupBy' }, ...['site', 'region', 'group', 'customer', 'equipment', 'source'].map((g) => h('option', { value: g }, g)));
  const interval = h('select', { name: 'interval' }, h('option', { value: 'week' }, 'week'), h('option', { value: 'month' }, 'month'));
  const weeks = h('input', { name: 'weeks', type: 'number', min: '1', max: '156', value: '12', size: 4 });
  const csv = h('a', { href: '#', download: 'vigil-kpis.csv' }, 'Download CSV');
  const note = h('p', { class: 'muted' });
  const charts = h('div', { class: 'kpi-charts' });
  const table = h('div', {});
  let plots: uPlot[] = [];
  for (const c of [groupBy, interval, weeks]) c.addEventListener('change', () => void page.refresh());
  root.append(
    h('h1', {}, 'KPIs'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, h('label', {}, h('span', {}, 'Group by'), groupBy), h('label', {}, h('span', {}, 'Per'), interval), h('label', {}, h('span', {}, 'Last weeks'), weeks), csv),
    note,
    charts,
    table,
  );

  const page: Page = {
    close: () => plots.forEach((p) => p.destroy()),
    async refresh() {
      const to = Date.now();
      const from = to - Math.max(1, Number(weeks.value) || 12) * 7 * 86_400_000;
      const q = `from=${from}&to=${to}&groupBy=${groupBy.value}&interval=${interval.value}`;
      const k = await api<Kpis>(`/api/v1/kpis?${q}`);
      csv.onclick = (e: Event) => {
        e.preventDefault();
        void downloadCsv(`/api/v1/kpis?${q}&format=csv`, `vigil-kpis-${groupBy.value}-${interval.value}.csv`);
      };
      const b = k.industry.firstTimeFix;
      note.textContent = `Targets: response ≤ ${k.targets.responseMinutes} min, first-time fix ≥ ${pct(k.targets.firstTimeFix)}, resolution ≥ ${pct(k.targets.resolution)}, satisfaction ≥ ${pct(k.targets.satisfaction)}. Industry: first-time fix averages ${pct(b.average[0]!)}–${pct(b.average[1]!)}, best in class ${pct(b.bestInClass)} (${b.source}).`;
      plots.forEach((p) => p.destroy());
      plots = [];
      charts.replaceChildren();
      const groups = [...new Set(k.rows.map((r) => r.group))];
      // The window's ends are points too, so the target is a line across the whole chart.
      const xs = [...new Set([k.from, ...k.rows.map((r) => r.periodStart), k.to])].sort((a, b) => a - b);
      for (const c of CHARTS) {
        const box = h('figure', { class: 'chart', 'data-kpi': c.key }, h('figcaption', {}, c.title));
        charts.append(box);
        if (k.rows.length === 0) continue;
        const scale = c.key === 'response' ? 1 : 100;
        const data: (number | null)[][] = [xs.map((x) => x / 1000)];
        for (const g of groups) data.push(xs.map((x) => { const r = k.rows.find((y) => y.group === g && y.periodStart === x); const v = r ? c.value(r) : null; return v === null ? null : v * scale; }));
        data.push(xs.map(() => c.target(k) * scale));
        const series: uPlot.Series[] = [{}, ...groups.map((g, i) => ({ label: g, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true } })), { label: 'target', stroke: '#cf222e', dash: [6, 4], width: 1.5, points: { show: false } }];
        const top = c.key === 'response' ? Math.max(c.target(k) * 1.5, ...data.slice(1).flat().map((v) => v ?? 0)) * 1.1 : 105;
        plots.push(
          new uPlot(
            { width: Math.min(chartWidth(root), 640), height: 200, series, scales: { x: { time: true, range: [k.from / 1000, k.to / 1000] }, y: { range: [0, top] } }, axes: [{}, { label: c.key === 'response' ? 'min' : '%' }] },
            data as uPlot.AlignedData,
            box,
          ),
        );
      }
      const cell = (text: string, bad: boolean) => h('td', bad ? { class: 'below-target', title: 'below target' } : {}, text);
      table.replaceChildren(
        h(
          'table',
          { class: 'kpis' },
          h('thead', {}, h('tr', {}, ...['Group', 'Period', 'Opened', 'Response (mean / p90 min)', 'Within SLA', 'First-time fix', 'Resolved in SLA', 'Satisfied', 'Answered', 'NPS', 'MTTR (h)', 'Before the customer noticed'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            ...k.rows.map((r) =>
              h(
                'tr',
                { 'data-group': r.group },
                h('td', {}, r.group),
                h('td', {}, r.period),
                h('td', {}, String(r.opened)),
                cell(`${num(r.response.meanMinutes)} / ${num(r.response.p90Minutes, 0)}`, r.belowTarget.includes('response')),
                h('td', {}, pct(r.response.withinSla)),
                cell(pct(r.firstTimeFix.rate), r.belowTarget.includes('firstTimeFix')),
                cell(pct(r.resolution.rate), r.belowTarget.includes('resolution')),
                cell(pct(r.satisfaction.rate), r.belowTarget.includes('satisfaction')),
                h('td', {}, pct(r.satisfaction.answerRate)),
                h('td', {}, num(r.nps.score, 0)),
                h('td', {}, num(r.mttrHours)),
                h('td', {}, pct(r.predictedShare)),
              ),
            ),
          ),
        ),
        ...(k.rows.length === 0 ? [h('p', { class: 'muted' }, 'No tickets opened in these weeks.')] : []),
      );
    },
  };
  return page;
}
