import { ApiError, type Me, api, token } from './api.ts';
import { h } from './dom.ts';
import { devicePage } from './pages/device.ts';
import { faultsPage } from './pages/faults.ts';
import { fleetPage } from './pages/fleet.ts';
import { knowledgePage } from './pages/knowledge.ts';
import { partsPage } from './pages/parts.ts';
import { kpisPage } from './pages/kpis.ts';
import { maintenancePage } from './pages/maintenance.ts';
import { pipelinePage } from './pages/pipeline.ts';
import { rulesPage } from './pages/rules.ts';
import { ticketsPage } from './pages/tickets.ts';

export interface Page {
  /** Redraws from the server; called on navigation, on live events and on a timer. */
  refresh(): Promise<void>;
  /** Live refreshes are skipped while the operator is typing in a form. */
  busy?(): boolean;
  /** Leaving the page: close its streams. */
  close?(): void;
}
type Route = (root: HTMLElement, me: Me, arg: string) => Page;

const ROUTES: Record<string, { title: string; page: Route; nav: boolean }> = {
  fleet: { title: 'Fleet', page: fleetPage, nav: true },
  device: { title: 'Device', page: devicePage, nav: false },
  tickets: { title: 'Tickets', page: ticketsPage, nav: true },
  kpis: { title: 'KPIs', page: kpisPage, nav: true },
  faults: { title: 'Faults', page: faultsPage, nav: true },
  parts: { title: 'Parts', page: partsPage, nav: true },
  knowledge: { title: 'Knowledge', page: knowledgePage, nav: true },
  rules: { title: 'Rules', page: rulesPage, nav: true },
  maintenance: { title: 'Maintenance', page: maintenancePage, nav: true },
  pipeline: { title: 'Pipeline', page: pipelinePage, nav: true },
};

const main = document.getElementById('main')!;
let current: Page | undefined;
let me: Me | undefined;
let stream: EventSource | undefined;

function signIn(message?: string): void {
  stream?.close();
  current?.close?.();
  current = undefined;
  document.getElementById('nav')!.replaceChildren();
  document.getElementById('who')!.replaceChildren();
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h(
    'form',
    { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), token.set(input.value.trim()), void start()) },
    h('label', {}, 'API token', input),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  main.replaceChildren(
    h('h1', {}, 'Sign in'),
    h('p', { id: 'token-help', class: 'muted' }, 'Paste an API token (the demo prints one; otherwise `vigil token create --role viewer`). It is kept in this tab only.'),
    form,
    h('p', { class: 'error', role: 'alert' }, message ?? ''),
  );
  input.focus();
}

async function start(): Promise<void> {
  if (!token.get()) return signIn();
  try {
    me = await api<Me>('/api/v1/me');
  } catch (err) {
    token.clear();
    return signIn(err instanceof ApiError && err.status === 401 ? 'That token is not valid.' : String(err));
  }
  document.getElementById('who')!.replaceChildren(
    h('span', {}, `${me.name} (${me.role.replace('_', ' ')}) `),
    h('button', { type: 'button', onclick: () => (token.clear(), signIn()) }, 'Sign out'),
  );
  stream?.close();
  stream = new EventSource(`/api/v1/tickets/stream?access_token=${encodeURIComponent(token.get()!)}`);
  stream.onmessage = stream.onerror = null;
  for (const type of ['ticket.created', 'ticket.updated', 'ticket.acknowledged', 'ticket.started', 'ticket.assigned', 'ticket.commented', 'ticket.resolved', 'ticket.closed', 'ticket.reopened', 'ticket.sla_breached', 'ticket.finding_resolved', 'ticket.reported', 'ticket.reviewed', 'ticket.visit_planned', 'ticket.visit_updated', 'ticket.accepted', 'ticket.surveyed']) {
    stream.addEventListener(type, () => void live());
  }
  route();
}

async function live(): Promise<void> {
  if (current && !current.busy?.()) await current.refresh().catch(() => undefined);
}

function route(): void {
  if (!me) return;
  const [name = 'fleet', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const r = ROUTES[name] ?? ROUTES.fleet!;
  document.getElementById('nav')!.replaceChildren(
    ...Object.entries(ROUTES)
      .filter(([, v]) => v.nav)
      .map(([k, v]) => h('a', { href: `#/${k}`, 'aria-current': k === name || (name === 'device' && k === 'fleet') ? 'page' : undefined }, v.title)),
  );
  document.title = `${r.title} · Vigil`;
  main.replaceChildren();
  current?.close?.();
  current = r.page(main, me, decodeURIComponent(rest.join('/')));
  void current.refresh().catch((err) => main.append(h('p', { class: 'error', role: 'alert' }, String(err))));
}

window.addEventListener('hashchange', route);
// Readings have no stream of their own: the fleet and device pages also refresh every 5 s.
setInterval(() => void live(), 5000);
void start();
