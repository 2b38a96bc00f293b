import { ApiError, type Me, api, can } from '../api.ts';
import { h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface Window { id: number; devices: string[] | null; sites: string[] | null; classes: string[] | null; start: number; end: number; reason: string; createdBy: string; createdAt: number; endedBy: string | null }

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
const covers = (w: Window) => [w.devices && `devices ${w.devices.join(', ')}`, w.sites && `sites ${w.sites.join(', ')}`, w.classes && `classes ${w.classes.join(', ')}`].filter(Boolean).join('; ');

/** Planned work: while a window lasts, the rules hold back findings and baselines learn nothing for what it covers. */
export function maintenancePage(root: HTMLElement, me: Me): Page {
  const notice = h('p', { id: 'maintenance-status', role: 'status' });
  const form = h('section', { 'aria-label': 'plan maintenance' });
  const current = h('section', { 'aria-label': 'current windows' });
  const past = h('section', { 'aria-label': 'past windows' });
  root.append(h('h1', {}, 'Maintenance'), h('p', { class: 'muted' }, 'While a window lasts, the devices it covers raise no findings and their baselines do not learn: planned work is neither a fault nor the new normal. Windows end by themselves.'), notice, form, current, past);
  let typing = false;

  if (can.editRules(me)) {
    const devices = h('input', { id: 'mw-devices', placeholder: 'pump-1, fan-*', size: 24 });
    const sites = h('input', { id: 'mw-sites', placeholder: 'plant-a', size: 14 });
    const classes = h('input', { id: 'mw-classes', placeholder: 'pump-medium-rigid', size: 18 });
    const start = h('input', { id: 'mw-start', type: 'datetime-local' });
    const end = h('input', { id: 'mw-end', type: 'datetime-local', required: true });
    const reason = h('input', { id: 'mw-reason', required: true, size: 30 });
    const submit = async () => {
      const body: Record<string, unknown> = { reason: reason.value.trim(), end: new Date(end.value).getTime() };
      if (start.value) body.start = new Date(start.value).getTime();
      for (const [k, el] of [['devices', devices], ['sites', sites], ['classes', classes]] as const) if (list(el.value).length > 0) body[k] = list(el.value);
      try {
        const w = await api<Window>('/api/v1/maintenance-windows', { method: 'POST', body });
        notice.className = '';
        notice.textContent = `Window ${w.id} planned until ${time(w.end)}: ${covers(w)}.`;
        typing = false;
        await page.refresh();
      } catch (err) {
        notice.className = 'error';
        notice.textContent = err instanceof ApiError ? err.message : String(err);
      }
    };
    for (const ev of ['focusin', 'input']) form.addEventListener(ev, () => (typing = true));
    form.append(
      h('h2', {}, 'Plan work'),
      h('form', { class: 'inline', id: 'mw-form', onsubmit: (e: Event) => (e.preventDefault(), void submit()) },
        h('label', {}, 'Devices', devices), h('label', {}, 'Sites', sites), h('label', {}, 'Asset classes', classes),
        h('label', {}, 'From (empty: now)', start), h('label', {}, 'Until', end), h('label', {}, 'Reason', reason),
        h('button', { type: 'submit', class: 'primary' }, 'Plan')),
    );
  }

  const table = (id: string, windows: Window[], live: boolean) =>
    windows.length === 0
      ? h('p', { class: 'muted' }, live ? 'No maintenance in force or planned.' : 'None.')
      : h('table', { id }, h('thead', {}, h('tr', {}, ...['Covers', 'From', 'Until', 'Reason', 'Planned by', ''].map((x) => h('th', {}, x)))),
          h('tbody', {}, ...windows.map((w) => h('tr', { 'data-window': w.id, 'data-active': live && w.start <= Date.now() },
            h('td', {}, covers(w)), h('td', {}, time(w.start)), h('td', {}, `${time(w.end)}${w.endedBy ? ` (ended by ${w.endedBy})` : ''}`), h('td', {}, w.reason), h('td', {}, w.createdBy),
            h('td', {}, live && can.editRules(me) ? h('button', { type: 'button', onclick: () => void api<Window>(`/api/v1/maintenance-windows/${w.id}`, { method: 'DELETE' }).then(() => { notice.textContent = `Window ${w.id} ended.`; return page.refresh(); }) }, w.start <= Date.now() ? 'End now' : 'Cancel') : null)))));

  const page: Page = {
    busy: () => typing,
    async refresh() {
      const [now, before] = await Promise.all([api<{ windows: Window[] }>('/api/v1/maintenance-windows'), api<{ windows: Window[] }>('/api/v1/maintenance-windows?state=past')]);
      current.replaceChildren(h('h2', {}, 'In force or planned'), table('mw-current', now.windows, true));
      past.replaceChildren(h('h2', {}, 'Past'), table('mw-past', before.windows.slice(0, 50), false));
    },
  };
  return page;
}
