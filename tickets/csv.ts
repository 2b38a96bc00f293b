/**
 * One CSV cell: numbers rounded to six places, empty for null, text quoted when it must be. Text that a
 * spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe: part names and models
 * come from people, and a warehouse opens the file in a spreadsheet.
 */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(Math.round(v * 1e6) / 1e6);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A CSV document with a header line, CRLF line ends as RFC 4180 has them. */
export function csv(columns: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return [columns.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n';
}
