import type { EventSummary } from '../describe.ts';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A readable plain-text and HTML body carrying the ticket, its deadlines and a link to the console. */
export function mailBodies(s: EventSummary): { subject: string; text: string; html: string } {
  const width = Math.max(...s.facts.map(([k]) => k.length));
  const text = [
    s.headline,
    '',
    ...s.facts.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`),
    ...(s.action ? ['', `Suggested action: ${s.action}`] : []),
    '',
    `Open in Vigil: ${s.link}`,
    '',
  ].join('\n');
  const rows = s.facts.map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<h2 style="border-left:6px solid #${s.colour};padding-left:8px">${escapeHtml(s.headline)}</h2>
<table>${rows}</table>
${s.action ? `<p><strong>Suggested action:</strong> ${escapeHtml(s.action)}</p>` : ''}
<p><a href="${escapeHtml(s.link)}">Open in Vigil</a></p>
</body></html>`;
  return { subject: s.headline.replace(/[\r\n]+/g, ' '), text, html };
}
