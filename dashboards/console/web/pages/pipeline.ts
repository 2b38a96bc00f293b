import { type Me, api } from '../api.ts';
import { h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface Pipeline {
  broker: Record<string, unknown>;
  tsdb: { configured: boolean; spoolReadings?: number; state?: string };
  webhooks: { pending: number; dead: number; oldestPendingAt: number | null };
  gateways: {
    site: string;
    gatewayId: string;
    state: string;
    stateSince?: number;
    lastEnvelopeAt?: number;
    envelopes: number;
    duplicates: number;
    outbox?: { readings: number; oldestTs: number | null; at: number };
    refusals?: { total: Record<string, number>; recent: { at: number; code: string; message: string; driver: string; deviceId?: string; topic?: string }[] };
  }[];
}

function ago(ts: number): string {
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/** What the gateways turned away before sending, as each last reported it: counts by reason and the latest few. */
function refusalsAtGateways(gateways: Pipeline['gateways']): HTMLElement[] {
  const rows = gateways.flatMap((g) => (g.refusals?.recent ?? []).map((r) => ({ ...r, gatewayId: g.gatewayId })));
  const totals = gateways.flatMap((g) => Object.entries(g.refusals?.total ?? {}).map(([code, n]) => `${g.gatewayId}: ${n} ${code}`));
  const count = gateways.reduce((n, g) => n + Object.values(g.refusals?.total ?? {}).reduce((a, b) => a + b, 0), 0);
  return [
    h('h2', {}, `Refused at the gateways (${count})`),
    h('p', { id: 'gateway-refusals-total', class: 'muted' }, totals.length ? `Since each gateway started: ${totals.join(', ')}.` : 'Nothing refused at a gateway.'),
    rows.length === 0
      ? h('span')
      : h('table', { id: 'gateway-refusals' }, h('thead', {}, h('tr', {}, ...['When', 'Gateway', 'Device or topic', 'Code', 'Reason'].map((x) => h('th', {}, x)))),
          h('tbody', {}, ...rows.sort((a, b) => b.at - a.at).map((r) => h('tr', {}, h('td', {}, time(r.at)), h('td', {}, r.gatewayId), h('td', {}, r.deviceId ?? r.topic ?? '–'), h('td', {}, r.code), h('td', {}, r.message))))),
  ];
}

export function pipelinePage(root: HTMLElement, _me: Me): Page {
  const body = h('div', { id: 'pipeline' });
  root.append(h('h1', {}, 'Pipeline'), body);
  let last: { at: number; ingested: number } | undefined;
  return {
    async refresh() {
      const [p, q, metrics] = await Promise.all([
        api<Pipeline>('/api/v1/pipeline'),
        api<{ items: { at: number; code: string; reason: string; gatewayId: string | null }[]; total: number }>('/api/v1/quarantine?limit=20'),
        fetch('/metrics').then((r) => r.text()),
      ]);
      const ingested = Number(/^vigil_readings_ingested_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      const now = Date.now();
      const rate = last && now > last.at ? Math.round(((ingested - last.ingested) * 1000) / (now - last.at)) : null;
      last = { at: now, ingested };
      const items = q.items;
      body.replaceChildren(
        h('h2', {}, 'Intake'),
        h('p', { id: 'intake' }, `${ingested.toLocaleString()} readings accepted${rate !== null ? `, ${rate.toLocaleString()} readings/s now` : ''}.`),
        h('h2', {}, 'Gateways'),
        h('table', {}, h('thead', {}, h('tr', {}, ...['Gateway', 'Site', 'State', 'Since', 'Last Envelope', 'Outbox', 'Envelopes', 'Duplicates'].map((x) => h('th', {}, x)))),
          h('tbody', {}, ...p.gateways.map((g) => h('tr', {}, h('td', {}, g.gatewayId), h('td', {}, g.site), h('td', {}, g.state), h('td', {}, time(g.stateSince)), h('td', {}, time(g.lastEnvelopeAt)), h('td', {}, g.outbox ? `${g.outbox.readings} readings${g.outbox.oldestTs ? `, oldest ${ago(g.outbox.oldestTs)}` : ''} (reported ${time(g.outbox.at)})` : '–'), h('td', {}, String(g.envelopes)), h('td', {}, String(g.duplicates)))))),
        h('h2', {}, 'Time-series database'),
        h('p', { id: 'tsdb' }, p.tsdb.configured ? `${p.tsdb.state === 'down' ? 'Down' : 'Up'}; spool depth ${p.tsdb.spoolReadings ?? 0} readings.` : 'No TSDB configured: readings are validated and tracked, not stored.'),
        h('h2', {}, 'Webhook outbox'),
        h('p', {}, `${p.webhooks.pending} pending${p.webhooks.oldestPendingAt ? ` (oldest ${time(p.webhooks.oldestPendingAt)})` : ''}, ${p.webhooks.dead} dead letters.`),
        h('h2', {}, `Quarantine on the server (${q.total})`),
        items.length === 0 ? h('p', { class: 'muted' }, 'Nothing quarantined.') : h('table', { id: 'quarantine' }, h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Code'), h('th', {}, 'Reason'))),
          h('tbody', {}, ...items.map((i) => h('tr', {}, h('td', {}, time(i.at)), h('td', {}, i.code), h('td', {}, i.reason))))),
        ...refusalsAtGateways(p.gateways),
      );
    },
  };
}
