import { readFileSync } from 'node:fs';
import type { Fault, MetricId } from '../../core/index.ts';
import { globMatch, parseConfigText } from '../../core/index.ts';
import type { AlertOptions } from '../engine/alert.ts';
import { kindOf } from '../kinds/registry.ts';
import { type AnyKind, type DeviceContext, type Prepared, limits } from '../kinds/types.ts';
import { type AlertInput, type Match, type Override, type Rule, type Ruleset, RulesetSchema } from './schema.ts';
import { zonesOf } from './zones.ts';

/** Parses and validates a ruleset from YAML; every problem is reported at once with its path (ConfigError). */
export function parseRuleset(text: string, source = 'ruleset'): Ruleset {
  return parseConfigText(RulesetSchema, text, {}, source);
}

export const DEFAULT_RULESET_FILE = new URL('./default.yaml', import.meta.url);

export function defaultRulesetText(): string {
  return readFileSync(DEFAULT_RULESET_FILE, 'utf8');
}

export function defaultRuleset(): Ruleset {
  return parseRuleset(defaultRulesetText(), 'default ruleset');
}

/** One rule made concrete for one device and metric: its kind, resolved params and limits, alert options. */
export interface CompiledRule {
  ruleId: string;
  kind: AnyKind;
  /** `*` for device-wide kinds. */
  metric: MetricId | '*';
  fault: Fault;
  prepared: Prepared<unknown>;
  alert: AlertOptions;
}

export interface DevicePlan {
  deviceId: string;
  site: string | undefined;
  assetClass: string | undefined;
  /** The machine (shaft, rig) the device sits on with others, if the ruleset says so. */
  machine: string | undefined;
  tags: string[];
  /** Shared by every device alike: never changed once compiled. */
  rules: readonly CompiledRule[];
  /** Rules that match the device but cannot apply to it, and why (e.g. no zones for its class). */
  skipped: readonly { ruleId: string; metric: string; reason: string }[];
}

/** Compiled rules and skips by ruleset and by what sets devices apart (see {@link planDevice}). */
const compiled = new WeakMap<Ruleset, Map<string, { rules: readonly CompiledRule[]; skipped: DevicePlan['skipped'] }>>();

/** Works out which rules apply to a device, with its asset class's and its own overrides merged in. */
export function planDevice(rs: Ruleset, deviceId: string, site: string | undefined): DevicePlan {
  let assetClass: string | undefined;
  let machine: string | undefined;
  let model: string | undefined;
  const tags = new Set<string>();
  const deviceOverrides: Record<string, Override>[] = [];
  const entries: number[] = [];
  for (let i = 0; i < rs.devices.length; i++) {
    const d = rs.devices[i]!;
    if (!globMatch(d.id, deviceId) || (d.site !== undefined && d.site !== site)) continue;
    entries.push(i);
    if (d.class !== undefined) assetClass = d.class;
    if (d.machine !== undefined) machine = d.machine;
    if (d.model !== undefined) model = d.model;
    for (const t of d.tags) tags.add(t);
    deviceOverrides.push(d.overrides);
  }
  const cls = assetClass ? rs.assetClasses[assetClass] : undefined;
  const layers = [...(cls ? [cls.overrides] : []), ...deviceOverrides];
  const matched: number[] = [];
  for (let i = 0; i < rs.rules.length; i++) if (matches(rs.rules[i]!.match, deviceId, site, assetClass, tags)) matched.push(i);
  // Devices alike (same site, class, device entries and matching rules) share one compiled list: a fleet
  // of tens of thousands compiles a handful, not an object graph per device (850 bytes per device-metric).
  const key = `${site ?? ''}\u0001${assetClass ?? ''}\u0001${entries.join(',')}\u0001${matched.join(',')}`;
  let cache = compiled.get(rs);
  if (!cache) compiled.set(rs, (cache = new Map()));
  const known = cache.get(key);
  if (known) return { deviceId, site, assetClass, machine, tags: [...tags], rules: known.rules, skipped: known.skipped };
  const rules: CompiledRule[] = [];
  const skipped: { ruleId: string; metric: string; reason: string }[] = [];
  for (const i of matched) {
    const rule = rs.rules[i]!;
    let params: Record<string, unknown> = rule.params;
    let alertIn: AlertInput = rule.alert ?? {};
    let enabled = rule.enabled;
    for (const layer of layers) {
      const o = layer[rule.id];
      if (!o) continue;
      if (o.params) params = { ...params, ...o.params };
      if (o.alert) alertIn = { ...alertIn, ...o.alert };
      if (o.enabled !== undefined) enabled = o.enabled;
    }
    if (!enabled) continue;
    const kind = kindOf(rule.kind)!;
    const alert: AlertOptions = {
      for: alertIn.for ?? rs.defaults.for,
      clearFor: alertIn.clearFor ?? rs.defaults.clearFor,
      minSamples: alertIn.minSamples ?? rs.defaults.minSamples,
      flap: alertIn.flap ?? rs.defaults.flap,
    };
    const ctx: DeviceContext = {
      site,
      assetClass,
      zones: cls?.vibrationZones ? zonesOf(cls.vibrationZones) : undefined,
      hysteresis: alertIn.hysteresis ?? rs.defaults.hysteresis,
      ruleId: rule.id,
      model,
    };
    const metrics: (MetricId | '*')[] = rule.metric === undefined ? ['*'] : Array.isArray(rule.metric) ? rule.metric : [rule.metric];
    // The schema checked the merged params already; parse fills defaults and durations.
    let parsed = kind.params.parse(params);
    parsed = kind.resolve?.(parsed, ctx) ?? parsed;
    const raw = kind.prepare(parsed, ctx);
    for (const metric of metrics) {
      if (typeof raw === 'string') {
        skipped.push({ ruleId: rule.id, metric, reason: raw });
        continue;
      }
      rules.push({
        ruleId: rule.id,
        kind,
        metric,
        fault: rule.fault,
        alert,
        prepared: { params: parsed, ctx, limits: limits(raw.dir, raw.warning, raw.critical, ctx.hysteresis) },
      });
    }
  }
  // Kept only once complete: a compile that throws half way must not leave a partial list for the next device.
  cache.set(key, { rules, skipped });
  return { deviceId, site, assetClass, machine, tags: [...tags], rules, skipped };
}

function matches(m: Match | undefined, deviceId: string, site: string | undefined, assetClass: string | undefined, tags: ReadonlySet<string>): boolean {
  if (!m) return true;
  if (m.sites && (site === undefined || !m.sites.includes(site))) return false;
  if (m.devices && !m.devices.some((p) => globMatch(p, deviceId))) return false;
  if (m.classes && (assetClass === undefined || !m.classes.includes(assetClass))) return false;
  if (m.tags && !m.tags.some((t) => tags.has(t))) return false;
  return true;
}



export type { Rule };

/** What the ruleset's device entries say of a device's equipment (later entries win), or null without a model. */
export function equipmentOf(rs: Ruleset, deviceId: string, site: string | undefined): { model: string; firmware: string | null; installedAt: number | null } | null {
  let model: string | undefined;
  let firmware: string | undefined;
  let installed: string | undefined;
  for (const d of rs.devices) {
    if (!globMatch(d.id, deviceId) || (d.site !== undefined && d.site !== site)) continue;
    model = d.model ?? model;
    firmware = d.firmware ?? firmware;
    installed = d.installedAt ?? installed;
  }
  if (model === undefined) return null;
  return { model, firmware: firmware ?? null, installedAt: installed === undefined ? null : Date.parse(`${installed}T00:00:00Z`) };
}
