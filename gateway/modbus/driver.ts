import { ConfigError, Counter, Gauge, Histogram, type Registry, errorMessage } from '../../core/index.ts';
import type { Driver, DriverContext } from '../drivers/types.ts';
import { Bus } from './bus.ts';
import type { PollDefaultsSchema } from './config.ts';
import { type DeviceState, type DeviceStatus, DevicePoller } from './poller.ts';
import { type Profile, loadProfiles } from './profile.ts';
import type { ModbusTransport } from './transport.ts';
import type { z } from 'zod';

export interface LinkDevices {
  transport: ModbusTransport;
  devices: { id: string; unitId: number; profile: string; pollInterval?: number | undefined; timeout?: number | undefined; retries?: number | undefined }[];
}

const STATES: DeviceState[] = ['connecting', 'online', 'degraded', 'offline'];

/** Metrics shared by every Modbus driver of a gateway (one registry, many drivers). */
function metrics(registry: Registry) {
  const existing = registry.getSingleMetric('vigil_modbus_polls_total');
  if (existing) {
    return {
      polls: existing as Counter,
      failures: registry.getSingleMetric('vigil_modbus_poll_failures_total') as Counter,
      duration: registry.getSingleMetric('vigil_modbus_poll_duration_seconds') as Histogram,
      state: registry.getSingleMetric('vigil_modbus_device_state') as Gauge,
    };
  }
  const registers = [registry];
  return {
    polls: new Counter({ name: 'vigil_modbus_polls_total', help: 'Modbus polls by outcome (ok, failed, overrun)', labelNames: ['driver', 'outcome'], registers }),
    failures: new Counter({ name: 'vigil_modbus_poll_failures_total', help: 'Failed Modbus polls by device and reason', labelNames: ['driver', 'device', 'reason'], registers }),
    duration: new Histogram({
      name: 'vigil_modbus_poll_duration_seconds',
      help: 'Time from a poll being due to its last answer',
      labelNames: ['driver'],
      buckets: [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    state: new Gauge({ name: 'vigil_modbus_device_state', help: '1 for the state each Modbus device is in', labelNames: ['driver', 'device', 'state'], registers }),
  };
}

/**
 * The Modbus driver behind `modbus-tcp` and `modbus-rtu`: one Bus per link, one DevicePoller per
 * device. Profiles are loaded and every device's profile is checked before anything connects.
 */
export class ModbusDriver implements Driver {
  readonly name: string;
  private readonly pollers: DevicePoller[] = [];
  private readonly links: ModbusTransport[];

  constructor(
    readonly kind: 'modbus-tcp' | 'modbus-rtu',
    readonly id: string,
    links: LinkDevices[],
    profilePaths: readonly string[],
    defaults: z.infer<typeof PollDefaultsSchema>,
    ctx: DriverContext,
  ) {
    this.name = `driver:${id}`;
    const profiles = loadProfiles(profilePaths);
    const missing = links.flatMap((l) => l.devices.filter((d) => !profiles.has(d.profile)).map((d) => ({ path: `devices.${d.id}.profile`, message: `no profile named ${d.profile} (have: ${[...profiles.keys()].join(', ')})` })));
    if (missing.length > 0) throw new ConfigError(`driver ${id}`, missing);
    const m = metrics(ctx.registry);
    this.links = links.map((l) => l.transport);
    for (const link of links) {
      const bus = new Bus(link.transport);
      for (const d of link.devices) {
        const profile = profiles.get(d.profile) as Profile;
        const settings = { ...defaults, ...(d.pollInterval !== undefined ? { pollInterval: d.pollInterval } : {}), ...(d.timeout !== undefined ? { timeout: d.timeout } : {}), ...(d.retries !== undefined ? { retries: d.retries } : {}) };
        for (const s of STATES) m.state.set({ driver: id, device: d.id, state: s }, s === 'connecting' ? 1 : 0);
        this.pollers.push(
          new DevicePoller({ id: d.id, unitId: d.unitId, profile, settings }, bus, {
            // The poll goes on at once; the values reach the outbox with the next batched commit.
            readings: (rs) => {
              ctx.sink.accept(rs).then(
                () => ctx.accepted(id, rs.length),
                (err: unknown) => ctx.log.error({ err: errorMessage(err), device: rs[0]?.deviceId }, 'polled values could not be stored in the outbox'),
              );
              return Promise.resolve();
            },
            rejected: (r, deviceId) => ctx.rejected(id, r, { deviceId }),
            window: () => ctx.window(),
            polled: (deviceId, outcome, ms, reason) => {
              m.polls.inc({ driver: id, outcome });
              if (outcome !== 'overrun') m.duration.observe({ driver: id }, ms / 1000);
              if (outcome === 'failed') m.failures.inc({ driver: id, device: deviceId, reason: reason ?? 'error' });
            },
            stateChanged: (deviceId, from, to) => {
              m.state.set({ driver: id, device: deviceId, state: from }, 0);
              m.state.set({ driver: id, device: deviceId, state: to }, 1);
            },
          }, ctx.clock, ctx.log),
        );
      }
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.links.map((l) => l.start()));
    for (const p of this.pollers) p.start();
  }

  async stop(): Promise<void> {
    for (const p of this.pollers) p.stop();
    await Promise.all(this.links.map((l) => l.stop()));
  }

  devices(): DeviceStatus[] {
    return this.pollers.map((p) => p.status());
  }

  status(): Record<string, unknown> {
    const states: Record<string, number> = {};
    for (const d of this.devices()) states[d.state] = (states[d.state] ?? 0) + 1;
    return { id: this.id, kind: this.kind, links: this.links.map((l) => ({ id: l.id, connected: l.connected })), devices: states };
  }
}
