import { z } from 'zod';
import { ConfigError, DeviceIdSchema, DurationSchema, GatewayIdSchema, SiteIdSchema, httpConfigSchema, CROSS_CHECK, crossCheck } from '../core/index.ts';
import { loadProfiles } from './modbus/profile.ts';
import { DriverConfigSchema } from './drivers/registry.ts';
import { OutboxConfigSchema } from './outbox/index.ts';
import { UplinkConfigSchema } from './uplink/index.ts';

export const GATEWAY_CONFIG_VERSION = 1;

export const DeviceSchema = z.strictObject({
  id: DeviceIdSchema,
  name: z.string().max(200).optional(),
  /** The machine's model, firmware and date in service: sent to the server, which counts faults per model (its ruleset's device entries win). */
  model: z.string().trim().min(1).max(100).optional(),
  firmware: z.string().trim().min(1).max(100).optional(),
  installedAt: z.iso.date().optional(),
  /**
   * Refused with a pointer: which rules and vibration zones apply to a machine is decided in one
   * place, the server's ruleset (`devices: [{ id, class }]`). A class set here would be a second
   * source of truth that the rules never read.
   */
  assetClass: z
    .never({ error: 'asset classes belong in the server ruleset (devices: - { id: pump-1, class: cooling-pump }); the gateway does not use them' })
    .optional(),
});

export const IntakeWindowSchema = z
  .strictObject({
    /** Readings sampled longer ago than this are refused (a gateway back from a long outage may send old data). */
    maxAge: DurationSchema.prefault('400d'),
    /** Tolerated clock skew of sensors ahead of the gateway. */
    maxFuture: DurationSchema.prefault('5m'),
  })
  .prefault({});

export const GatewayConfigSchema = z
  .strictObject({
    version: z.literal(GATEWAY_CONFIG_VERSION),
    site: SiteIdSchema,
    gatewayId: GatewayIdSchema,
    /** Where the outbox lives. */
    dataDir: z.string().default('./data/gateway'),
    /** The gateway's status API; tokens as on the server (`vigil token create -c gateway.yaml`). */
    http: httpConfigSchema(9101).optional(),
    devices: z.array(DeviceSchema).default([]),
    /** Accept readings of devices not listed under `devices` (handy while commissioning). */
    acceptUnknownDevices: z.boolean().default(false),
    intake: IntakeWindowSchema,
    drivers: z.array(DriverConfigSchema).min(1),
    uplink: UplinkConfigSchema,
    outbox: OutboxConfigSchema.prefault({}),
  })
  // The value may be half-parsed when a field above failed (see CROSS_CHECK), hence the guards.
  .superRefine(
    crossCheck((c, ctx) => {
      const listed = Array.isArray(c.devices) ? c.devices : [];
      const drivers = Array.isArray(c.drivers) ? c.drivers : [];
      const seen = new Set<string>();
      listed.forEach((d, i) => {
        if (typeof d?.id !== 'string') return;
        if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device ${d.id} is listed twice` });
        seen.add(d.id);
      });
      const ids = new Set<string>();
      drivers.forEach((d, i) => {
        if (typeof d?.id !== 'string') return;
        if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['drivers', i, 'id'], message: `driver id ${d.id} is used twice` });
        ids.add(d.id);
      });
      // Polled devices are named in the driver; they must be listed under devices like any other (a
      // typo would otherwise be polled under a name nobody expects), and their profiles must exist now,
      // not on the first poll.
      drivers.forEach((d, i) => {
        if (typeof d !== 'object' || d === null || !('devices' in d) || !Array.isArray(d.devices)) return;
        const polled = d.devices as readonly ({ id?: unknown; profile?: unknown } | undefined)[];
        let profiles: ReadonlySet<string> | undefined;
        if ('profiles' in d && Array.isArray(d.profiles) && d.profiles.every((p) => typeof p === 'string')) {
          try {
            profiles = new Set(loadProfiles(d.profiles as string[]).keys());
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            for (const issue of err.issues) ctx.addIssue({ code: 'custom', path: ['drivers', i, 'profiles'], message: `${issue.path}: ${issue.message}` });
          }
        }
        polled.forEach((dev, j) => {
          if (typeof dev?.id === 'string' && c.acceptUnknownDevices !== true && !seen.has(dev.id)) {
            ctx.addIssue({ code: 'custom', path: ['drivers', i, 'devices', j, 'id'], message: `device ${dev.id} is not listed under devices (add it, or set acceptUnknownDevices: true)` });
          }
          if (profiles && typeof dev?.profile === 'string' && !profiles.has(dev.profile)) {
            ctx.addIssue({ code: 'custom', path: ['drivers', i, 'devices', j, 'profile'], message: `no profile ${dev.profile}; have ${[...profiles].join(', ')}` });
          }
        });
      });
    }),
    CROSS_CHECK,
  );
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/**
 * What a gateway's config allows but some brokers refuse, said once at start. NATS's MQTT listener maps
 * topic levels to subject tokens and closes the connection of a client that publishes a level with a
 * `.`: a gateway whose site or id has one could never deliver through NATS (Mosquitto and the embedded
 * broker take it).
 */
export function uplinkWarnings(config: Pick<GatewayConfig, 'site' | 'gatewayId'>): string[] {
  const out: string[] = [];
  for (const [what, id] of [
    ['site', config.site],
    ['gatewayId', config.gatewayId],
  ] as const) {
    if (id.includes('.')) out.push(`${what} "${id}" contains ".": a NATS broker closes the connection of a client that publishes it in a topic; rename it if the uplink is NATS`);
  }
  return out;
}
