import { type Me, api, downloadCsv } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../main.ts';

interface Row {
  group: string;
  tickets: number;
  devices: number;
  faults: { fault: string; count: number }[];
  faultCodes: { code: string; title: string | null; count: number }[];
  judged: number;
  confirmed: number;
  confirmedShare: number | null;
  mtbfHours: number | null;
  mttrHours: number | null;
  meanMinutesOnSite: number | null;
  predictedShare: number | null;
}

const pct = (v: number | null) => (v === null ? '–' : `${Math.round(v * 1000) / 10} %`);
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toLocaleString(undefined, { maximumFractionDigits: digits }));

/** Bars of counts, longest first, scaled to the largest: which faults a group has most. */
function bars(items: { label: string; count: number; title?: string }[]): HTMLElement {
  const max = Math.max(1, ...items.map((i) => i.count));
  return h(
    'ul',
    { class: 'bars' },
    ...items.slice(0, 6).map((i) => h('li', { title: i.title ?? i.label }, h('span', { class: 'bar-label' }, i.label), h('span', { class: 'bar', style: `width: ${Math.round((i.count / max) * 100)}%` }), h('span', { class: 'bar-count' }, String(i.count)))),
  );
}

/** The engineering report: per model, firmware or site, the top faults and codes, MTBF, MTTR, share confirmed and predicted. */
export function faultsPage(root: HTMLElement, _me: Me): Page {
  const groupBy = h('select', { name: 'groupBy' }, ...['model', 'firmware', 'site'].map((g) => h('option', { value: g }, g)));
  const months = h('input', { name: 'months', type: 'number', min: '1', max: '60', value: '12', size: 3 });
  const csv = h('a', { href: '#' }, 'Download CSV');
  const charts = h('div', { class: 'fault-charts' });
  const table = h('div', {});
  for (const c of [groupBy, months]) c.addEventListener('change', () => void page.refresh());
  root.append(
    h('h1', {}, 'Faults'),
    h('p', { class: 'muted' }, 'For engineering: what fails, per model, firmware or site. MTBF and MTTR as EN 15341 defines them; MTBF counts from installation (or the first reading held) to each confirmed fault.'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, h('label', {}, h('span', {}, 'Group by'), groupBy), h('label', {}, h('span', {}, 'Last months'), months), csv),
    charts,
    table,
  );
  const page: Page = {
    async refresh() {
      const to = Date.now();
      const from = to - Math.max(1, Number(months.value) || 12) * 30 * 86_400_000;
      const q = `from=${from}&to=${to}&groupBy=${groupBy.value}`;
      const r = await api<{ rows: Row[] }>(`/api/v1/reports/faults?${q}`);
      csv.onclick = (e: Event) => {
        e.preventDefault();
        void downloadCsv(`/api/v1/reports/faults?${q}&format=csv`, `vigil-faults-${groupBy.value}.csv`);
      };
      charts.replaceChildren(
        ...r.rows.map((row) =>
          h('figure', { class: 'chart', 'data-group': row.group }, h('figcaption', {}, `${row.group}: ${row.tickets} ticket${row.tickets === 1 ? '' : 's'}`), bars(row.faults.map((f) => ({ label: f.fault.replaceAll('_', ' '), count: f.count }))), row.faultCodes.length ? bars(row.faultCodes.map((c) => ({ label: c.code, count: c.count, title: c.title ?? c.code }))) : null),
        ),
      );
      table.replaceChildren(
        h(
          'table',
          { class: 'faults' },
          h('thead', {}, h('tr', {}, ...['Group', 'Tickets', 'Devices', 'Top fault', 'Top fault code', 'Confirmed', 'MTBF (h)', 'MTTR (h)', 'On site (min)', 'Predicted first'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            ...r.rows.map((row) =>
              h(
                'tr',
                { 'data-group': row.group },
                h('td', {}, row.group),
                h('td', {}, String(row.tickets)),
                h('td', {}, String(row.devices)),
                h('td', {}, row.faults[0] ? `${row.faults[0].fault.replaceAll('_', ' ')} (${row.faults[0].count})` : '–'),
                h('td', {}, row.faultCodes[0] ? `${row.faultCodes[0].code} ${row.faultCodes[0].title ?? ''} (${row.faultCodes[0].count})` : '–'),
                h('td', {}, `${pct(row.confirmedShare)} of ${row.judged}`),
                h('td', {}, num(row.mtbfHours, 0)),
                h('td', {}, num(row.mttrHours)),
                h('td', {}, num(row.meanMinutesOnSite, 0)),
                h('td', {}, pct(row.predictedShare)),
              ),
            ),
          ),
        ),
        ...(r.rows.length === 0 ? [h('p', { class: 'muted' }, 'No tickets in these months.')] : []),
      );
    },
  };
  return page;
}
