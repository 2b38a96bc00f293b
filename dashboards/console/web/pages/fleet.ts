import { type Me, api, liveReadings } from '../api.ts';
import { badge, h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface FleetDevice {
  deviceId: string;
  gatewayId: string;
  gatewayState: string;
  health: string;
  reasons: string[];
  lastSeen: number;
  values: Record<string, { value: number; ts: number }>;
  openTickets: { id: number; priority: string; title: string }[];
}

interface Counts {
  devices: number;
  ok: number;
  warning: number;
  critical: number;
  offline: number;
}

interface FleetPage {
  total: number;
  limit: number;
  offset: number;
  summary: Counts & { sites: (Counts & { site: string })[] };
  sites: { site: string; devices: FleetDevice[] }[];
}

const SHOWN = ['vibration_rms', 'vibration_kurtosis', 'bearing_temp'];
const PAGE = 200;

export function fleetPage(root: HTMLElement, _me: Me): Page {
  const search = h('input', { type: 'search', id: 'fleet-search', placeholder: 'device or site' });
  const healthFilter = h('select', { id: 'fleet-health' }, ...['all', 'ok', 'warning', 'critical', 'offline'].map((x) => h('option', { value: x }, x)));
  const counts = h('p', { id: 'fleet-counts', class: 'muted' });
  const pager = h('nav', { id: 'fleet-pager', 'aria-label': 'pages' });
  const body = h('div', { id: 'fleet' });
  let page: FleetPage | undefined;
  let offset = 0;
  // Counts and pager change with each load only: redrawn every second with the live values, the
  // buttons would lose keyboard focus.
  const drawPager = (page: FleetPage) => {
    const s = page.summary;
    counts.textContent = `${s.devices} devices: ${s.ok} ok, ${s.warning} warning, ${s.critical} critical, ${s.offline} offline`;
    const last = Math.min(page.offset + page.limit, page.total);
    const go = (to: number) => () => {
      offset = to;
      void load();
    };
    pager.replaceChildren(
      h('button', { type: 'button', id: 'fleet-prev', disabled: page.offset === 0, onclick: go(Math.max(0, page.offset - page.limit)) }, 'Previous'),
      h('span', {}, page.total === 0 ? ' no device matches ' : ` ${page.offset + 1}–${last} of ${page.total} `),
      h('button', { type: 'button', id: 'fleet-next', disabled: last >= page.total, onclick: go(page.offset + page.limit) }, 'Next'),
    );
  };
  // The server filters and pages (a fleet is tens of thousands of devices); the page in hand is also
  // filtered at once while the next one loads, so typing answers immediately.
  const draw = () => {
    const data = page?.sites ?? [];
    const q = search.value.trim().toLowerCase();
    const want = healthFilter.value;
    body.replaceChildren(
      ...data.map(({ site, devices }) => {
        const rows = devices.filter((d) => (!q || d.deviceId.toLowerCase().includes(q) || site.toLowerCase().includes(q)) && (want === 'all' || d.health === want));
        if (rows.length === 0) return h('p', { class: 'muted' }, `${site}: no device matches`);
        return h(
          'section',
          { 'aria-label': `site ${site}` },
          h('h2', {}, `Site ${site}`),
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Health'), ...SHOWN.map((m) => h('th', { class: 'wide' }, m)), h('th', {}, 'Open tickets'), h('th', { class: 'wide' }, 'Gateway'), h('th', { class: 'wide' }, 'Last seen'))),
            h(
              'tbody',
              {},
              ...rows.map((d) =>
                h(
                  'tr',
                  { 'data-device': d.deviceId },
                  h('td', {}, h('a', { href: `#/device/${encodeURIComponent(d.deviceId)}` }, d.deviceId)),
                  h('td', {}, badge(d.health), d.reasons.length ? h('div', { class: 'muted' }, d.reasons.join('; ')) : null),
                  ...SHOWN.map((m) => h('td', { class: 'wide' }, d.values[m] ? d.values[m]!.value.toFixed(2) : '–')),
                  h('td', {}, ...d.openTickets.map((t) => h('div', {}, `${t.priority} #${t.id}`))),
                  h('td', { class: 'wide' }, `${d.gatewayId} (${d.gatewayState})`),
                  h('td', { class: 'wide' }, time(d.lastSeen)),
                ),
              ),
            ),
          ),
        );
      }),
    );
  };
  const load = async () => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (search.value.trim()) params.set('q', search.value.trim());
    if (healthFilter.value !== 'all') params.set('health', healthFilter.value);
    page = await api<FleetPage>(`/api/v1/fleet?${params}`);
    drawPager(page);
    draw();
  };
  let typing: ReturnType<typeof setTimeout> | undefined;
  const refilter = () => {
    offset = 0;
    draw();
    clearTimeout(typing);
    typing = setTimeout(() => void load(), 250);
  };
  search.addEventListener('input', refilter);
  healthFilter.addEventListener('change', refilter);
  // Values move live between the 5 s refreshes (health comes with those).
  const es = liveReadings(undefined, (items) => {
    for (const it of items) {
      const d = page?.sites.find((s) => s.site === it.site)?.devices.find((x) => x.deviceId === it.deviceId);
      if (!d) continue;
      d.values[it.metric] = { value: it.value, ts: it.ts };
      d.lastSeen = Date.now();
    }
    draw();
  });
  root.append(h('h1', {}, 'Fleet'), h('div', { class: 'filters' }, h('label', {}, 'Search', search), h('label', {}, 'Health', healthFilter)), counts, body, pager);
  return {
    refresh: load,
    close: () => {
      clearTimeout(typing);
      es.close();
    },
  };
}
