import { type Me, api, can } from '../api.ts';
import { describeEvidence } from '../describe.ts';
import { h, time, timeLeft } from '../dom.ts';
import type { Page } from '../main.ts';

interface Ticket {
  id: number;
  title: string;
  deviceId: string | null;
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
  source: 'predicted' | 'reported';
  customerNoticed: boolean;
  reports: { at: number; channel: string; contact: { name: string }; symptom: string; urgency: string }[];
  visits: { n: number; plannedAt: number; technician: string; arrivedAt: number | null; result: string | null }[];
  firstTimeFix: boolean | null;
  equipment: { model: string; firmware: string | null } | null;
  resolution: { faultCode: string | null; component: string | null; action: string | null; partsUsed: { name: string; quantity: number }[]; minutesOnSite: number | null } | null;
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

interface Similar {
  case: { ticketId: number; title: string; deviceId: string | null; model: string | null; site: string | null; faultCode: string | null; faultCodeTitle: string | null; outcome: string; component: string | null; action: string | null; note: string | null; partsUsed: { name: string; quantity: number }[]; resolvedAt: number; held?: boolean };
  score: number;
  reasons: string[];
  falseAlarm: boolean;
}

/** `bearing 6205 x2, grease` as parts used: a name, and a quantity after x or × (1 without one). */
export function parseParts(text: string): { name: string; quantity: number }[] {
  return text
    .split(/[,;\n]/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const m = /^(.*?)\s*[x×]\s*(\d+(?:[.,]\d+)?)$/i.exec(p);
      return m ? { name: m[1]!.trim(), quantity: Number(m[2]!.replace(',', '.')) } : { name: p, quantity: 1 };
    });
}

/** A past case as one line a technician reads: where, what was wrong, what fixed it. */
function caseLine(s: Similar): HTMLElement {
  const c = s.case;
  const code = c.faultCode ? ` ${c.faultCode}${c.faultCodeTitle ? ` (${c.faultCodeTitle})` : ''}` : '';
  const parts = c.partsUsed.length ? ` Parts: ${c.partsUsed.map((p) => `${p.name} ×${p.quantity}`).join(', ')}.` : '';
  return h(
    'li',
    { class: s.falseAlarm ? 'false-alarm' : '', 'data-case': c.ticketId },
    h('strong', {}, `#${c.ticketId} ${c.deviceId ?? ''}${c.model ? ` (${c.model})` : ''}`),
    ` ${time(c.resolvedAt)}, ${s.falseAlarm ? 'FALSE ALARM' : c.outcome.replaceAll('_', ' ')}${c.held === false ? ' (did not hold: reopened)' : ''}${code}: ${c.action ?? c.note ?? '(no action recorded)'}.${parts}`,
    h('span', { class: 'muted' }, ` ${s.reasons.join(', ')}`),
  );
}

const ACTIVE = 'new,open,acknowledged,in_progress,reopened';
const WORKING = ['open', 'reopened', 'acknowledged', 'in_progress'];

export function ticketsPage(root: HTMLElement, me: Me): Page {
  let showResolved = false;
  let editing = 0;
  const openSimilar = new Set<number>();
  // The catalog's codes as suggestions in every resolve form's fault-code field.
  const codes = h('datalist', { id: 'fault-codes' });
  void api<{ codes: { code: string; title: string }[] }>('/api/v1/fault-codes').then((r) => codes.replaceChildren(...r.codes.map((c) => h('option', { value: c.code }, c.title))), () => undefined);
  const toggle = h('input', { type: 'checkbox', id: 'show-resolved' });
  toggle.addEventListener('change', () => {
    showResolved = toggle.checked;
    void page.refresh();
  });
  const board = h('div', { class: 'board', id: 'board' });
  const status = h('p', { role: 'status', class: 'muted' });
  root.append(h('h1', {}, 'Tickets'), h('div', { class: 'filters' }, h('label', {}, h('span', {}, 'Show resolved and closed'), toggle)), status, board, codes);

  async function act(t: Ticket, action: string, body: Record<string, unknown>) {
    let said: string;
    try {
      await api(`/api/v1/tickets/${t.id}/${action}`, { method: 'POST', body });
      said = `Ticket #${t.id}: ${action} done.`;
    } catch (err) {
      said = `Ticket #${t.id}: ${String((err as Error).message)}`;
    }
    editing = 0;
    // Said once the board shows the change, so what the status announces is what the card reads.
    try {
      await page.refresh();
    } finally {
      status.textContent = said;
    }
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
        // How it was put right: the case later tickets learn from (each field optional).
        const code = h('input', { name: 'faultCode', size: 6, list: 'fault-codes', placeholder: 'M2.4' });
        const component = h('input', { name: 'component', size: 12 });
        const taken = h('input', { name: 'action', size: 18 });
        const parts = h('input', { name: 'partsUsed', size: 18, placeholder: 'bearing 6205 x1, grease' });
        const minutes = h('input', { name: 'minutesOnSite', type: 'number', min: '0', max: '100000', size: 4 });
        const resolveBody = () => {
          const b: Record<string, unknown> = { outcome: outcome.value, note: note.value };
          if (code.value.trim()) b.faultCode = code.value.trim();
          if (component.value.trim()) b.component = component.value.trim();
          if (taken.value.trim()) b.action = taken.value.trim();
          if (parts.value.trim()) b.partsUsed = parseParts(parts.value);
          if (minutes.value) b.minutesOnSite = Number(minutes.value);
          return b;
        };
        box.append(
          h(
            'form',
            { class: 'inline', 'aria-label': `resolve ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'resolve', resolveBody())) },
            h('label', {}, 'Outcome', outcome), h('label', {}, 'Note', note), h('label', {}, 'Fault code', code), h('label', {}, 'Component', component), h('label', {}, 'Action taken', taken), h('label', {}, 'Parts used', parts), h('label', {}, 'Minutes on site', minutes),
            h('button', { type: 'submit', class: 'primary' }, 'Resolve'),
          ),
        );
      }
      if (t.status === 'new') {
        const site = h('input', { name: 'site', required: true, size: 10 });
        box.append(h('form', { class: 'inline', 'aria-label': `review ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'review', { site: site.value })) }, h('label', {}, 'Site', site), h('button', { type: 'submit', class: 'primary' }, 'Review')));
      }
      if (WORKING.includes(t.status)) {
        const who = h('input', { name: 'technician', required: true, size: 10 });
        const when = h('input', { name: 'plannedAt', type: 'datetime-local', required: true });
        box.append(
          h('form', { class: 'inline', 'aria-label': `plan a visit for ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'visits', { technician: who.value, plannedAt: new Date(when.value).getTime() })) }, h('label', {}, 'Technician', who), h('label', {}, 'Visit at', when), h('button', { type: 'submit' }, 'Plan visit')),
        );
        const open = t.visits.find((v) => v.result === null);
        if (open) {
          const result = h('select', { name: 'result' }, ...['fixed', 'not_fixed', 'needs_parts'].map((r) => h('option', { value: r }, r.replaceAll('_', ' '))));
          box.append(
            h('form', { class: 'inline', 'aria-label': `record visit ${open.n} of ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, `visits/${open.n}`, { arrivedAt: open.arrivedAt ?? Date.now(), result: result.value })) }, h('label', {}, `Visit ${open.n} result`, result), h('button', { type: 'submit' }, 'Record')),
          );
        }
      }
      if (t.status === 'resolved') {
        const by = h('input', { name: 'by', required: true, size: 12 });
        box.append(h('form', { class: 'inline', 'aria-label': `acceptance of ticket ${t.id}`, onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'accept', { by: by.value })) }, h('label', {}, 'Accepted by', by), h('button', { type: 'submit' }, 'Accept')));
      }
      if (t.status === 'resolved' || t.status === 'accepted' || t.status === 'new') box.append(button('Close', () => void act(t, 'close', {})));
    }
    if (can.comment(me)) {
      const note = h('input', { name: 'comment', required: true, size: 20 });
      box.append(h('form', { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), void act(t, 'comment', { note: note.value })) }, h('label', {}, 'Comment', note), h('button', { type: 'submit' }, 'Comment')));
    }
    // A pick from a list need not move focus (keyboard shortcuts, assistive tools), so a change marks
    // the card as being edited too; otherwise a live redraw could put back the default just before Record.
    for (const type of ['focusin', 'input', 'change']) box.addEventListener(type, () => (editing = t.id));
    return box;
  }

  /** Past cases like this ticket, fetched when the desk opens the panel (not for every card on every redraw). */
  function similarPanel(t: Ticket): HTMLElement {
    const list = h('ol', { class: 'similar' });
    const panel = h('details', { class: 'similar-cases' }, h('summary', {}, 'Similar cases'), list);
    panel.addEventListener('toggle', () => {
      if (!panel.open) return void openSimilar.delete(t.id);
      openSimilar.add(t.id);
      list.replaceChildren(h('li', { class: 'muted' }, 'Loading…'));
      api<{ cases: Similar[] }>(`/api/v1/tickets/${t.id}/similar?limit=5`)
        .then((r) => list.replaceChildren(...(r.cases.length ? r.cases.map(caseLine) : [h('li', { class: 'muted' }, 'No past case like this one yet.')])))
        .catch((err: unknown) => list.replaceChildren(h('li', { class: 'error' }, String((err as Error).message))));
    });
    // Still open after a live redraw, as the desk left it.
    if (openSimilar.has(t.id)) panel.open = true;
    return panel;
  }

  function card(t: Ticket): HTMLElement {
    const deadline = t.status === 'open' || t.status === 'reopened' ? t.respondBy : t.resolveBy;
    const left = timeLeft(deadline);
    const breached = t.slaBreached.length > 0 || left.breached;
    return h(
      'article',
      { class: 'card', 'data-ticket': t.id, 'aria-label': `ticket ${t.id}` },
      h('h3', {}, `#${t.id} ${t.title}`, t.equipment ? h('span', { class: 'muted' }, ` ${t.equipment.model}`) : null),
      h('div', {}, `${t.status.replace('_', ' ')} · ${t.source === 'reported' ? 'reported by the customer' : t.customerNoticed ? 'predicted; the customer noticed too' : 'predicted'} · ${t.severity} · ${t.occurrences}× · ${t.dispatchGroup}${t.assignee ? ` · ${t.assignee}` : ''}${t.outcome ? ` · ${t.outcome}` : ''}${t.firstTimeFix === null ? '' : t.firstTimeFix ? ' · first-time fix' : ' · not a first-time fix'}`),
      ...t.reports.map((r) => h('p', { class: 'muted' }, `${time(r.at)}, ${r.channel}, ${r.contact.name} (${r.urgency}): “${r.symptom}”`)),
      t.visits.length ? h('ul', { class: 'visits', 'aria-label': 'visits' }, ...t.visits.map((v) => h('li', {}, `Visit ${v.n}: ${v.technician}, ${time(v.plannedAt)}${v.arrivedAt ? `, arrived ${time(v.arrivedAt)}` : ''}${v.result ? `: ${v.result.replaceAll('_', ' ')}` : ''}`))) : null,
      h('div', { class: breached ? 'breached' : '' }, `${breached ? '⚠ SLA breached: ' : ''}${t.status === 'open' || t.status === 'reopened' ? 'respond' : 'resolve'} by ${time(deadline)} (${left.text})`),
      h('details', { class: 'evidence' }, h('summary', {}, 'Evidence'), h('ul', {}, ...evidenceLines(t.evidence).map((line) => h('li', {}, line)))),
      h('details', {}, h('summary', {}, 'Suggested action'), h('p', {}, t.suggestedAction), h('p', { class: 'muted' }, `Parts: ${t.likelyParts.join(', ')}`), t.deviceId ? h('a', { href: `#/device/${encodeURIComponent(t.deviceId)}` }, `Open ${t.deviceId}`) : null),
      similarPanel(t),
      t.resolution ? h('p', { class: 'resolution muted' }, `Resolved${t.resolution.faultCode ? ` as ${t.resolution.faultCode}` : ''}${t.resolution.component ? `, ${t.resolution.component}` : ''}${t.resolution.action ? `: ${t.resolution.action}` : ''}`) : null,
      t.status === 'closed' ? null : actions(t),
    );
  }

  const page: Page = {
    busy: () => editing !== 0,
    async refresh() {
      const q = showResolved ? '' : `status=${ACTIVE}&`;
      const { tickets } = await api<{ tickets: Ticket[] }>(`/api/v1/tickets?${q}limit=500`);
      // Someone started filling in a card while this was fetched: redrawing now would throw away what
      // they typed. The refresh after their action brings the board up to date.
      if (editing !== 0) return;
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
