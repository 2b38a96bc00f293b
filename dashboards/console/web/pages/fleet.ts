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

const SHOWN = ['vibration_rms', 'vibration_kurtosis', 'bearing_temp'];

export function fleetPage(root: HTMLElement, _me: Me): Page {
  const search = h('input', { type: 'search', id: 'fleet-search', placeholder: 'device or site' });
  const healthFilter = h('select', { id: 'fleet-health' }, ...['all', 'ok', 'warning', 'critical', 'offline'].map((x) => h('option', { value: x }, x)));
  const body = h('div', { id: 'fleet' });
  let data: { site: string; devices: FleetDevice[] }[] = [];
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const want = healthFilter.value;
    body.replaceChildren(
      ...data.map(({ site, devices }) => {
        const rows = devices.filter((d) => (!q || d.deviceId.includes(q) || site.includes(q)) && (want === 'all' || d.health === want));
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
  search.addEventListener('input', draw);
  healthFilter.addEventListener('change', draw);
  // Values move live between the 5 s refreshes (health comes with those).
  const es = liveReadings(undefined, (items) => {
    for (const it of items) {
      const d = data.find((s) => s.site === it.site)?.devices.find((x) => x.deviceId === it.deviceId);
      if (!d) continue;
      d.values[it.metric] = { value: it.value, ts: it.ts };
      d.lastSeen = Date.now();
    }
    draw();
  });
  root.append(h('h1', {}, 'Fleet'), h('div', { class: 'filters' }, h('label', {}, 'Search', search), h('label', {}, 'Health', healthFilter)), body);
  return {
    async refresh() {
      data = (await api<{ sites: typeof data }>('/api/v1/fleet')).sites;
      draw();
    },
    close: () => es.close(),
  };
}
