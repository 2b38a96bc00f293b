/** A tiny element builder: text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | ((e: Event) => void) | undefined> = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

export function time(ms: number | null | undefined): string {
  return ms ? new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }) : '–';
}

/** "3 h 20 min left" or "breached 2 h ago". */
export function timeLeft(deadline: number, now = Date.now()): { text: string; breached: boolean } {
  const d = deadline - now;
  const abs = Math.abs(d);
  const text = abs >= 86_400_000 ? `${Math.floor(abs / 86_400_000)} d ${Math.floor((abs % 86_400_000) / 3_600_000)} h` : abs >= 3_600_000 ? `${Math.floor(abs / 3_600_000)} h ${Math.floor((abs % 3_600_000) / 60_000)} min` : `${Math.max(1, Math.floor(abs / 60_000))} min`;
  return d >= 0 ? { text: `${text} left`, breached: false } : { text: `breached ${text} ago`, breached: true };
}

const ICON: Record<string, string> = { ok: '✓', warning: '▲', critical: '✖', offline: '○' };
export function badge(health: string): HTMLElement {
  return h('span', { class: `badge ${health}`, 'data-health': health }, `${ICON[health] ?? ''} ${health}`);
}
