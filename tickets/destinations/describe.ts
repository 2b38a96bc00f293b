import type { OutgoingPayload } from '../../core/index.ts';

/** What a person reads of an event, whatever carries it (mail, chat). */
export interface EventSummary {
  /** One line: `[P1] Over-temperature on fan-2 at plant-a: created`. */
  headline: string;
  /** Label and value pairs, in reading order. */
  facts: [string, string][];
  /** The suggested action, when the event carries a ticket. */
  action: string | undefined;
  /** The console's page for it. */
  link: string;
  /** Hex colour of its urgency, for chat cards. */
  colour: string;
}

const COLOURS: Record<string, string> = { P1: 'd13438', P2: 'ea6a0a', P3: 'c19c00', P4: '6b7280' };
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? '–' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export function summarise(ev: OutgoingPayload, baseUrl: string | undefined): EventSummary {
  const base = (baseUrl ?? '').replace(/\/$/, '');
  if (ev.type === 'report.faults') {
    const d = ev.detail;
    const tickets = d.rows.reduce((n, r) => n + r.tickets, 0);
    return {
      headline: `Fault report for ${d.period}: ${tickets} tickets over ${d.rows.length} ${d.groupBy === 'site' ? 'sites' : 'models'}`,
      facts: d.rows.slice(0, 8).map((r): [string, string] => [r.group, `${r.tickets} tickets; top ${r.faults[0] ? `${r.faults[0].fault} (${r.faults[0].count})` : '–'}${r.faultCodes[0] ? `, code ${r.faultCodes[0].code} (${r.faultCodes[0].count})` : ''}; MTBF ${r.mtbfHours ?? '–'} h, MTTR ${r.mttrHours ?? '–'} h`]),
      action: undefined,
      link: `${base}/console/#/faults`,
      colour: COLOURS.P4!,
    };
  }
  if (ev.type === 'kpi.below_target') {
    const d = ev.detail;
    return {
      headline: `KPI below target: ${d.kpi} for ${d.groupBy} ${d.group} in ${d.period}`,
      facts: [
        ['Figure', d.kpi],
        ['Value', String(Math.round(d.value * 1000) / 1000)],
        ['Target', String(d.target)],
        ['Tickets counted', String(d.tickets)],
        [d.groupBy === 'site' ? 'Site' : 'Dispatch group', d.group],
        ['Period', d.period],
      ],
      action: undefined,
      link: `${base}/console/#/kpis`,
      colour: COLOURS.P2!,
    };
  }
  const t = ev.ticket;
  const what = ev.type.replace(/^ticket\./, '').replace(/_/g, ' ');
  return {
    headline: `[${t.priority}] ${t.title}: ${what}`,
    facts: [
      ['Ticket', `#${t.id} (${t.status})`],
      ['Priority', t.priority],
      ['Site', t.site ?? '–'],
      ['Device', t.deviceId ?? '–'],
      ['Respond by', iso(t.respondBy)],
      ['Resolve by', iso(t.resolveBy)],
      ['Event', `${ev.type} by ${ev.actor.name} at ${ev.at}`],
    ],
    action: t.suggestedAction ?? undefined,
    link: `${base}/console/#/tickets/${t.id}`,
    colour: COLOURS[t.priority] ?? COLOURS.P4!,
  };
}
