import { ApiError, type Me, api, can } from '../api.ts';
import { h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface Entry {
  fault: string;
  title: string;
  action: string;
  parts: string[];
  source: 'edited' | 'config' | 'shipped';
  version: number | null;
}
interface Version {
  version: number;
  action: string;
  author: string;
  at: number;
  comment: string;
}

/** The advice new tickets start from when no past case fits: read by all, edited by operators with a reason per version. */
export function knowledgePage(root: HTMLElement, me: Me): Page {
  const list = h('div', {});
  const status = h('p', { role: 'status', class: 'muted' });
  let typing = false;
  root.append(h('h1', {}, 'Knowledge base'), h('p', { class: 'muted' }, 'Each new ticket suggests the fix of the best-matching past case first, then this advice for its fault.'), status, list);
  list.addEventListener('focusin', () => (typing = true));

  function entry(e: Entry): HTMLElement {
    const versions = h('ol', { class: 'versions' });
    const history = h('details', {}, h('summary', {}, 'Versions'), versions);
    const show = (r: { versions: Version[] }) =>
      versions.replaceChildren(...(r.versions.length ? r.versions.map((v) => h('li', {}, `v${v.version} ${time(v.at)} by ${v.author}: ${v.comment}`)) : [h('li', { class: 'muted' }, 'Never edited.')]));
    history.addEventListener('toggle', () => {
      if (history.open) void api<{ versions: Version[] }>(`/api/v1/knowledge/${e.fault}`).then(show);
    });
    const box = h('article', { class: 'card', 'data-fault': e.fault }, h('h3', {}, `${e.title} `, h('span', { class: 'muted' }, `${e.fault} · ${e.source}${e.version ? ` v${e.version}` : ''}`)), h('p', {}, e.action), h('p', { class: 'muted' }, `Parts: ${e.parts.join(', ') || '–'}`), history);
    if (can.editRules(me)) {
      const title = h('input', { name: 'title', value: e.title, required: true, size: 20 });
      const action = h('textarea', { name: 'action', required: true, rows: 3, cols: 60 });
      action.value = e.action;
      const parts = h('input', { name: 'parts', value: e.parts.join(', '), size: 40 });
      const comment = h('input', { name: 'comment', required: true, size: 30, placeholder: 'why it changes' });
      const save = async () => {
        try {
          const v = await api<{ version: number }>(`/api/v1/knowledge/${e.fault}`, { method: 'PUT', body: { title: title.value, action: action.value, parts: parts.value.split(',').map((p) => p.trim()).filter(Boolean), comment: comment.value } });
          status.textContent = `${e.fault}: version ${v.version} published.`;
          typing = false;
          await page.refresh();
        } catch (err) {
          status.textContent = `${e.fault}: ${err instanceof ApiError ? err.message : String(err)}`;
        }
      };
      box.append(h('details', {}, h('summary', {}, 'Edit'), h('form', { class: 'inline', 'aria-label': `edit advice for ${e.fault}`, onsubmit: (ev: Event) => (ev.preventDefault(), void save()) }, h('label', {}, 'Title', title), h('label', {}, 'Action', action), h('label', {}, 'Parts (comma separated)', parts), h('label', {}, 'Reason', comment), h('button', { type: 'submit', class: 'primary' }, 'Publish'))));
    }
    return box;
  }

  const page: Page = {
    busy: () => typing,
    async refresh() {
      const r = await api<{ entries: Entry[] }>('/api/v1/knowledge');
      list.replaceChildren(...r.entries.map(entry));
    },
  };
  return page;
}
