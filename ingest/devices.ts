import type { DeviceState as PollState, Equipment, GatewayStatus, MetricId, Reading } from '../core/index.ts';

export interface LastValue {
  value: number;
  ts: number;
  /** Set when the last value came with quality `bad` or `uncertain`. */
  quality?: 'bad' | 'uncertain';
}

export interface DeviceState {
  site: string;
  deviceId: string;
  gatewayId: string;
  /** When the server last received a reading of this device. */
  lastSeen: number;
  /** Newest sample time among its readings. */
  lastTs: number;
  values: Partial<Record<MetricId, LastValue>>;
  /** As reported by a gateway that polls the device (Modbus); absent for devices that publish. */
  state?: PollState;
  stateSince?: number;
  lastError?: string;
  /** Readings received with quality `bad` or `uncertain`, by quality (kept out of rules; shown to operators). */
  untrusted?: Partial<Record<'bad' | 'uncertain', number>>;
}

// One collator for every sort: String#localeCompare builds its comparison rules on each call, which
// dominates sorting a fleet of tens of thousands.
/** The order of sites and device ids everywhere a list of them is shown. */
export const byName = new Intl.Collator().compare;

/** What a caller may narrow a list of devices by: one site, and text found in the device id or site name (any case). */
export interface DeviceFilter {
  site?: string | undefined;
  q?: string | undefined;
}

/** A test for {@link DeviceFilter}, built once per request. */
export function deviceMatcher(f: DeviceFilter): (d: DeviceState) => boolean {
  const q = f.q?.trim().toLowerCase();
  return (d) => (f.site === undefined || d.site === f.site) && (!q || d.deviceId.toLowerCase().includes(q) || d.site.toLowerCase().includes(q));
}

/** Last-seen time and last value per metric of every device, kept in memory for the API and console. */
export class DeviceDirectory {
  // site → device: nested maps keep the per-reading update free of string building.
  private readonly sites = new Map<string, Map<string, DeviceState>>();
  /** Every device by site and id, kept until a device is added: a fleet is listed far more often than it grows. */
  private sorted: readonly DeviceState[] | undefined;

  update(site: string, gatewayId: string, readings: readonly Reading[], now: number): void {
    let devices = this.sites.get(site);
    if (!devices) this.sites.set(site, (devices = new Map()));
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      let d = devices.get(r.deviceId);
      if (!d) {
        d = { site, deviceId: r.deviceId, gatewayId, lastSeen: now, lastTs: r.ts, values: {} };
        devices.set(r.deviceId, d);
        this.sorted = undefined;
      }
      d.lastSeen = now;
      d.gatewayId = gatewayId;
      if (r.ts > d.lastTs) d.lastTs = r.ts;
      const last = d.values[r.metric];
      const quality = r.quality === undefined || r.quality === 'good' ? undefined : r.quality;
      if (quality) d.untrusted = { ...(d.untrusted ?? {}), [quality]: (d.untrusted?.[quality] ?? 0) + 1 };
      if (last === undefined) d.values[r.metric] = { value: r.value, ts: r.ts, ...(quality ? { quality } : {}) };
      else if (r.ts >= last.ts) {
        last.value = r.value;
        last.ts = r.ts;
        if (quality) last.quality = quality;
        else delete last.quality;
      }
    }
  }

  siteOf(deviceId: string): string | undefined {
    for (const [site, devices] of this.sites) if (devices.has(deviceId)) return site;
    return undefined;
  }

  hasSite(site: string): boolean {
    return this.sites.has(site);
  }

  /** Applies a gateway's device-status message (a device it polls may not have sent a reading yet). */
  states(site: string, gatewayId: string, devices: GatewayStatus['devices'], now: number): void {
    let map = this.sites.get(site);
    if (!map) this.sites.set(site, (map = new Map()));
    for (const s of devices) {
      let d = map.get(s.id);
      if (!d) {
        d = { site, deviceId: s.id, gatewayId, lastSeen: now, lastTs: 0, values: {} };
        map.set(s.id, d);
        this.sorted = undefined;
      }
      d.state = s.state;
      d.stateSince = s.since;
      if (s.lastError === undefined) delete d.lastError;
      else d.lastError = s.lastError;
    }
  }

  /** Every device, by site and then id. */
  list(): readonly DeviceState[] {
    if (this.sorted) return this.sorted;
    const out: DeviceState[] = [];
    for (const devices of this.sites.values()) for (const d of devices.values()) out.push(d);
    return (this.sorted = out.sort((a, b) => byName(a.site, b.site) || byName(a.deviceId, b.deviceId)));
  }

  /**
   * One page of the devices that pass `keep`, in the order of {@link list}, and how many pass in all.
   * Walks the sorted fleet once and builds only the page.
   */
  page(keep: (d: DeviceState) => boolean, limit: number, offset: number): { total: number; devices: DeviceState[] } {
    const devices: DeviceState[] = [];
    let total = 0;
    for (const d of this.list()) {
      if (!keep(d)) continue;
      if (total >= offset && devices.length < limit) devices.push(d);
      total++;
    }
    return { total, devices };
  }

  get(site: string, deviceId: string): DeviceState | undefined {
    return this.sites.get(site)?.get(deviceId);
  }

  /**
   * A device by id: one lookup per site, not a sorted copy of the fleet. An id seen at two sites is
   * the one of the first site by name, as in {@link list}.
   */
  find(deviceId: string): DeviceState | undefined {
    let found: DeviceState | undefined;
    for (const devices of this.sites.values()) {
      const d = devices.get(deviceId);
      if (d && (found === undefined || byName(d.site, found.site) < 0)) found = d;
    }
    return found;
  }
}

export interface GatewayView {
  site: string;
  gatewayId: string;
  state: 'online' | 'offline' | 'unknown';
  stateSince: number | undefined;
  lastEnvelopeAt: number | undefined;
  bootId: string | undefined;
  lastSeq: number | undefined;
  envelopes: number;
  duplicates: number;
  /** Readings held in its store-and-forward outbox and the oldest sample time, as it last reported. */
  outbox?: { readings: number; oldestTs: number | null; at: number };
  /** What it refused before sending (counts by reason since it started, the latest few), as it last reported. */
  refusals?: NonNullable<GatewayStatus['refusals']>;
}

/** What the server knows of each gateway: its retained state topic and its last Envelope. */
export class GatewayDirectory {
  private readonly gateways = new Map<string, GatewayView>();
  /** Equipment as each gateway last reported it: replaced whole with each report, so it stays as large as one report. */
  private readonly machines = new Map<string, { site: string; byDevice: Map<string, Equipment> }>();

  equipment(site: string, gatewayId: string, list: NonNullable<GatewayStatus['equipment']>): void {
    const byDevice = new Map(list.map((e) => [e.id, { model: e.model, firmware: e.firmware ?? null, installedAt: e.installedAt ? Date.parse(`${e.installedAt}T00:00:00Z`) : null }]));
    this.machines.set(gatewayId, { site, byDevice });
  }

  /** A device's equipment as a gateway of its site reported it, if any (a gateway speaks only for its own site: its topic's). */
  equipmentOf(deviceId: string, site: string | null): Equipment | null {
    if (site === null) return null;
    for (const g of this.machines.values()) if (g.site === site && g.byDevice.has(deviceId)) return g.byDevice.get(deviceId)!;
    return null;
  }

  private entry(site: string, gatewayId: string): GatewayView {
    let g = this.gateways.get(gatewayId);
    if (!g) {
      g = { site, gatewayId, state: 'unknown', stateSince: undefined, lastEnvelopeAt: undefined, bootId: undefined, lastSeq: undefined, envelopes: 0, duplicates: 0 };
      this.gateways.set(gatewayId, g);
    }
    return g;
  }

  state(site: string, gatewayId: string, state: 'online' | 'offline', now: number): void {
    const g = this.entry(site, gatewayId);
    if (g.state !== state) g.stateSince = now;
    g.state = state;
  }

  /** The gateway's own report of its outbox, as of `at` (the gateway's clock). */
  outbox(site: string, gatewayId: string, o: { readings: number; oldestTs: number | null }, at: number): void {
    this.entry(site, gatewayId).outbox = { ...o, at };
  }

  refusals(site: string, gatewayId: string, r: NonNullable<GatewayStatus['refusals']>): void {
    this.entry(site, gatewayId).refusals = r;
  }

  envelope(site: string, gatewayId: string, bootId: string, seq: number, now: number, duplicate: boolean): void {
    const g = this.entry(site, gatewayId);
    g.lastEnvelopeAt = now;
    if (duplicate) {
      g.duplicates++;
      return;
    }
    g.envelopes++;
    g.bootId = bootId;
    g.lastSeq = seq;
  }

  list(): GatewayView[] {
    return [...this.gateways.values()].sort((a, b) => byName(a.gatewayId, b.gatewayId));
  }
}
