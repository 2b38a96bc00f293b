import { type Me, api, downloadCsv } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../main.ts';

interface Line {
  group: string;
  part: string;
  quantity: number;
  stock: number;
  tickets: { ticketId: number; deviceId: string | null; source: 'visit' | 'likely'; quantity: number; precision: number | null; inWindow: number | null }[];
}

/** The parts forecast for logistics: what the next days will likely need per region or dispatch group, and why. */
export function partsPage(root: HTMLElement, _me: Me): Page {
  const days = h('input', { name: 'days', type: 'number', min: '1', max: '365', value: '30', size: 3 });
  const groupBy = h('select', { name: 'groupBy' }, h('option', { value: 'region' }, 'region'), h('option', { value: 'group' }, 'dispatch group'));
  const csv = h('a', { href: '#' }, 'Download CSV');
  const table = h('div', {});
  for (const c of [days, groupBy]) c.addEventListener('change', () => void page.refresh());
  root.append(
    h('h1', {}, 'Parts'),
    h('p', { class: 'muted' }, 'Parts listed on visits planned in the window, plus the likely parts of open predicted tickets weighted by how often their rules were right and by how much of their predicted time to limit falls in the window.'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, h('label', {}, h('span', {}, 'Next days'), days), h('label', {}, h('span', {}, 'Per'), groupBy), csv),
    table,
  );
  const why = (t: Line['tickets'][number]) => (t.source === 'visit' ? `#${t.ticketId} visit ×${t.quantity}` : `#${t.ticketId} ${t.deviceId ?? ''} ${t.quantity} (precision ${t.precision}, ${Math.round((t.inWindow ?? 0) * 100)} % in window)`);
  const page: Page = {
    async refresh() {
      const q = `days=${Math.max(1, Math.min(365, Number(days.value) || 30))}&groupBy=${groupBy.value}`;
      const r = await api<{ lines: Line[] }>(`/api/v1/parts/forecast?${q}`);
      csv.onclick = (e: Event) => {
        e.preventDefault();
        void downloadCsv(`/api/v1/parts/forecast?${q}&format=csv`, `vigil-parts-${groupBy.value}.csv`);
      };
      table.replaceChildren(
        h(
          'table',
          { class: 'parts' },
          h('thead', {}, h('tr', {}, ...['Group', 'Part', 'Expected', 'Stock', 'Tickets'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, ...r.lines.map((l) => h('tr', { 'data-part': l.part }, h('td', {}, l.group), h('td', {}, l.part), h('td', {}, l.quantity.toLocaleString(undefined, { maximumFractionDigits: 2 })), h('td', {}, String(l.stock)), h('td', { class: 'muted' }, l.tickets.map(why).join('; '))))),
        ),
        ...(r.lines.length === 0 ? [h('p', { class: 'muted' }, 'No parts expected in this window.')] : []),
      );
    },
  };
  return page;
}
