import { type Me, api, can } from '../api.ts';
import { describeEvidence } from '../describe.ts';
import { h, time, timeLeft } from '../dom.ts';
import type { Page } from '../main.ts';

interface Ticket {
  id: number;
  title: string;
  deviceId: string;
  status: string;
  priority: string;
  severity: string;
  dispatchGroup: string;
  assignee: string | null;
  respondBy: number;
  resolveBy: number;
  slaBreached: string[];
  suggestedAction: string;
  likelyParts: string[];
  occurrences: number;
  outcome: string | null;
  evidence: {
    limitsCrossed: { ruleId: string; metric: string; severity: string; measure: string; value: number | null; limit: number | null }[];
    predictedLimitAt: number | null;
    findings: { ruleId: string; metric: string; severity: string; event: string; at: number; evidence: Record<string, unknown> }[];
  };
}

const fmt = (v: number | null) => (v === null ? '?' : v.toLocaleString(undefined, { maximumFractionDigits: 3 }));

/** The ticket's evidence as sentences: which limits were crossed, the predicted crossing, each rule's figures. */
export function evidenceLines(e: Ticket['evidence']): string[] {
  return [
    ...e.limitsCrossed.map((l) => `${l.metric} ${l.measure === 'value' ? 'reached' : `(${l.measure}) reached`} ${fmt(l.value)} against a ${l.severity} limit of ${fmt(l.limit)} (rule ${l.ruleId}).`),
    ...(e.predictedLimitAt ? [`Predicted to cross a limit on ${time(e.predictedLimitAt)}.`] : []),
    ...e.findings.map((f) => `${time(f.at)}: rule ${f.ruleId} on ${f.metric}, ${f.event} (${f.severity}). ${describeEvidence(f.evidence)}`),
  ];
}

const ACTIVE = 'open,acknowledged,in_progress,reopened';

export function ticketsPage(root: HTMLElement, me: Me): Page {
  let showResolved = false;
  let editing = 0;
  const toggle = h('input', { type: 'checkbox', id: 'show-resolved' });
  toggle.addEventListener('change', () => {
    showResolved = toggle.checked;
    void page.refresh();
  });
  const board = h('div', { class: 'board', id: 'board' });
  const status = h('p', { role: 'status', class: 'muted' });
  root.append(h('h1', {}, 'Tickets'), h('div', { class: 'filters' }, h('label', {}, h('span', {}, 'Show resolved and closed'), toggle)), status, board);

  async function act(t: Ticket, action: string, body: Record<string, unknown>) {
    try {
      await api(`/api/v1/tickets/${t.id}/${action}`, { method: 'POST', body });
      status.textContent = `Ticket #${t.id}: ${action} done.`;
    } catch (err) {
      status.textContent = `Ticket #${t.id}: ${String((err as Error).message)}`;
    }
    editing = 0;
    await page.refresh();
  }

  function actions(t: Ticket): HTMLElement {
    const box = h('div', { class: 'actions' });
    const button = (label: string, onclick: () => void) => h('button', { type: 'button', onclick }, label);
    if (can.workTickets(me)) {
      if (t.status === 'open' || t.status === 'reopened') box.append(button('Acknowledge', () => void act(t, 'acknowledge', {})));
      if (['open', 'reopened', 'acknowledged'].includes(t.status)) box.append(button('Start', () => void act(t, 'start', {})));
      if (['open', 'reopened', 'acknowledged', 'in_progress'].includes(t.status)) {
        const who = h('input', { name: 'assignee', required: true, size: 10 });
        box.append(h('form', { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'assign', { assignee: who.value })) }, h('label', {}, 'Assign to', who), h('button', { type: 'submit' }, 'Assign')));
        const outcome = h('select', { name: 'outcome' }, ...['confirmed', 'no_fault_found', 'false_alarm'].map((o) => h('option', { value: o }, o.replaceAll('_', ' '))));
        const note = h('input', { name: 'note', required: true, size: 16 });
        box.append(
          h('form', { class: 'inline', 'aria-label': `resolve ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'resolve', { outcome: outcome.value, note: note.value })) }, h('label', {}, 'Outcome', outcome), h('label', {}, 'Note', note), h('button', { type: 'submit', class: 'primary' }, 'Resolve')),
        );
      }
      if (t.status === 'resolved') box.append(button('Close', () => void act(t, 'close', {})));
    }
    if (can.comment(me)) {
      const note = h('input', { name: 'comment', required: true, size: 20 });
      box.append(h('form', { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'comment', { note: note.value })) }, h('label', {}, 'Comment', note), h('button', { type: 'submit' }, 'Comment')));
    }
    box.addEventListener('focusin', () => (editing = t.id));
    return box;
  }

  function card(t: Ticket): HTMLElement {
    const deadline = t.status === 'open' || t.status === 'reopened' ? t.respondBy : t.resolveBy;
    const left = timeLeft(deadline);
    const breached = t.slaBreached.length > 0 || left.breached;
    return h(
      'article',
      { class: 'card', 'data-ticket': t.id, 'aria-label': `ticket ${t.id}` },
      h('h3', {}, `#${t.id} ${t.title}`),
      h('div', {}, `${t.status.replace('_', ' ')} · ${t.severity} · ${t.occurrences}× · ${t.dispatchGroup}${t.assignee ? ` · ${t.assignee}` : ''}${t.outcome ? ` · ${t.outcome}` : ''}`),
      h('div', { class: breached ? 'breached' : '' }, `${breached ? '⚠ SLA breached: ' : ''}${t.status === 'open' || t.status === 'reopened' ? 'respond' : 'resolve'} by ${time(deadline)} (${left.text})`),
      h('details', { class: 'evidence' }, h('summary', {}, 'Evidence'), h('ul', {}, ...evidenceLines(t.evidence).map((line) => h('li', {}, line)))),
      h('details', {}, h('summary', {}, 'Suggested action'), h('p', {}, t.suggestedAction), h('p', { class: 'muted' }, `Parts: ${t.likelyParts.join(', ')}`), h('a', { href: `#/device/${encodeURIComponent(t.deviceId)}` }, `Open ${t.deviceId}`)),
      t.status === 'closed' ? null : actions(t),
    );
  }

  const page: Page = {
    busy: () => editing !== 0,
    async refresh() {
      const q = showResolved ? '' : `status=${ACTIVE}&`;
      const { tickets } = await api<{ tickets: Ticket[] }>(`/api/v1/tickets?${q}limit=500`);
      board.replaceChildren(
        ...['P1', 'P2', 'P3', 'P4'].map((p) => {
          const mine = tickets.filter((t) => t.priority === p).sort((a, b) => a.resolveBy - b.resolveBy);
          return h('section', { 'aria-label': `priority ${p}` }, h('h2', {}, `${p} (${mine.length})`), ...mine.map(card));
        }),
      );
    },
  };
  return page;
}
