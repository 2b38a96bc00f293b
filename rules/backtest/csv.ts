import { type MetricId, type Reading, isId, isMetricId } from '../../core/index.ts';

export interface CsvOptions {
  /** Wide format without a device column: the device all rows belong to. */
  device?: string;
  /** Wide format: column name → metric id, for columns not already named after a catalog metric. */
  map?: Record<string, string>;
}

export interface CsvProblem {
  line: number;
  message: string;
}

export interface CsvResult {
  format: 'long' | 'wide';
  readings: Reading[];
  problems: CsvProblem[];
}

/**
 * Readings from CSV, in one of two shapes:
 * - long: a header with `ts,device,metric,value` (any order, more columns ignored), one reading a row;
 * - wide: `ts`, optionally `device`, and one column per metric (named by catalog id or mapped).
 * `ts` is ISO 8601 or epoch milliseconds. Rows that cannot be read are reported with their line number
 * and skipped; the rest is used. The result is sorted by time (stable), as the engine expects.
 */
export function parseReadingsCsv(text: string, opts: CsvOptions = {}): CsvResult {
  const lines = text.split(/\r?\n/);
  const problems: CsvProblem[] = [];
  const headerAt = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  if (headerAt < 0) throw new CsvError('the file is empty');
  const header = splitRow(lines[headerAt]!).map((h) => h.trim());
  const col = (name: string) => header.findIndex((h) => h.toLowerCase() === name);
  const tsCol = col('ts') >= 0 ? col('ts') : col('time') >= 0 ? col('time') : col('timestamp');
  if (tsCol < 0) throw new CsvError(`no ts column in the header (${header.join(',')})`);
  const deviceCol = col('device') >= 0 ? col('device') : col('deviceid');
  const metricCol = col('metric');
  const valueCol = col('value');
  const long = metricCol >= 0 && valueCol >= 0;
  if (!long) {
    if (deviceCol < 0 && !opts.device) throw new CsvError('wide format without a device column: give --device');
    if (opts.device !== undefined && !isId(opts.device)) throw new CsvError(`invalid device id ${JSON.stringify(opts.device)}`);
  }
  if (long && deviceCol < 0) throw new CsvError('long format needs a device column (ts,device,metric,value)');
  const wide: { index: number; metric: MetricId }[] = [];
  if (!long) {
    for (const [from, to] of Object.entries(opts.map ?? {})) {
      if (!isMetricId(to)) throw new CsvError(`--map ${from}=${to}: ${to} is not a catalog metric`);
      if (!header.includes(from)) throw new CsvError(`--map ${from}=${to}: no column ${from} in the header`);
    }
    header.forEach((h, index) => {
      if (index === tsCol || index === deviceCol) return;
      const metric = opts.map?.[h] ?? h;
      if (isMetricId(metric)) wide.push({ index, metric });
    });
    if (wide.length === 0) throw new CsvError(`no metric columns: name them after catalog metrics or map them with --map column=metric`);
  }

  const readings: Reading[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cells = splitRow(line);
    const ts = parseCsvTime(cells[tsCol]);
    if (ts === undefined) {
      problems.push({ line: i + 1, message: `ts ${JSON.stringify(cells[tsCol] ?? '')} is neither ISO 8601 nor epoch ms` });
      continue;
    }
    const deviceId = deviceCol >= 0 ? cells[deviceCol]?.trim() : opts.device!;
    if (!isId(deviceId)) {
      problems.push({ line: i + 1, message: `invalid device id ${JSON.stringify(deviceId ?? '')}` });
      continue;
    }
    if (long) {
      const metric = cells[metricCol]?.trim();
      const value = Number(cells[valueCol]);
      if (!isMetricId(metric)) problems.push({ line: i + 1, message: `unknown metric ${JSON.stringify(metric ?? '')}` });
      else if (cells[valueCol]?.trim() === '' || !Number.isFinite(value)) problems.push({ line: i + 1, message: `value ${JSON.stringify(cells[valueCol] ?? '')} is not a number` });
      else readings.push({ deviceId, metric, value, ts });
      continue;
    }
    for (const w of wide) {
      const cell = cells[w.index]?.trim();
      if (cell === undefined || cell === '') continue; // a metric not sampled in this row
      const value = Number(cell);
      if (Number.isFinite(value)) readings.push({ deviceId, metric: w.metric, value, ts });
      else problems.push({ line: i + 1, message: `${header[w.index]}: ${JSON.stringify(cell)} is not a number` });
    }
  }
  readings.sort((a, b) => a.ts - b.ts);
  return { format: long ? 'long' : 'wide', readings, problems };
}

export class CsvError extends Error {}

/**
 * A CSV time: epoch milliseconds, or ISO 8601. A date-time without an offset is UTC, as a date alone
 * already is, so a file reads the same on every machine whatever its time zone.
 */
export function parseCsvTime(cell: string | undefined): number | undefined {
  const s = cell?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const zoned = !/[T ]\d/.test(s) || /(?:[zZ]|[+-]\d\d:?\d\d)$/.test(s);
  const t = Date.parse(zoned ? s : `${s}Z`);
  return Number.isFinite(t) ? t : undefined;
}

/** One CSV row; double-quoted cells may contain commas and doubled quotes (RFC 4180). */
export function splitRow(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
