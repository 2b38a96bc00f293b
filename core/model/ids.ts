import { z } from 'zod';

// Ids become MQTT topic levels and InfluxDB tag values, so they exclude the topic wildcards and
// separators (MQTT 3.1.1 §4.7.1) and stay short enough to read on a dashboard.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

const idSchema = (what: string) =>
  z.string().regex(ID_PATTERN, `${what} must be 1-64 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit`);

export const SiteIdSchema = idSchema('site id');
export const GatewayIdSchema = idSchema('gateway id');
export const DeviceIdSchema = idSchema('device id');

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters (`fan-*`); anything else must match exactly. */
export function globMatch(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    globCache.set(pattern, re);
  }
  return re.test(id);
}
