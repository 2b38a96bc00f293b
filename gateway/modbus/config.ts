import { z } from 'zod';
import { DeviceIdSchema, DurationSchema, CROSS_CHECK, crossCheck } from '../../core/index.ts';

export const PollDefaultsSchema = z
  .strictObject({
    pollInterval: DurationSchema.prefault('1s'),
    timeout: DurationSchema.prefault('1s'),
    retries: z.number().int().min(0).max(5).default(1),
    offlineAfter: z.number().int().min(1).max(100).default(3),
    maxBackoff: DurationSchema.prefault('60s'),
  })
  .prefault({});

const PollOverridesSchema = {
  pollInterval: DurationSchema.optional(),
  timeout: DurationSchema.optional(),
  retries: z.number().int().min(0).max(5).optional(),
};

export const ModbusDeviceBaseSchema = z.strictObject({
  id: DeviceIdSchema,
  /** Name of a profile from gateway/profiles/ or from the driver's `profiles` paths. */
  profile: z.string().min(1),
  ...PollOverridesSchema,
});

/** Unit ids 1-247 address slaves (0 is broadcast, 248-255 reserved: Modbus over Serial Line §2.2). */
export const SerialUnitIdSchema = z.number().int().min(1).max(247);
/** On TCP, 255 (or 0) addresses the device itself; gateways route other ids to serial slaves. */
export const TcpUnitIdSchema = z.number().int().min(0).max(255);

export const ModbusTcpConfigSchema = z.strictObject({
  kind: z.literal('modbus-tcp'),
  id: z.string().regex(/^[a-z0-9_-]+$/).default('modbus-tcp'),
  /** Extra profile files or folders, beside the shipped gateway/profiles/. */
  profiles: z.array(z.string()).default([]),
  defaults: PollDefaultsSchema,
  devices: z
    .array(ModbusDeviceBaseSchema.extend({ host: z.string().min(1), port: z.number().int().min(1).max(65535).default(502), unitId: TcpUnitIdSchema.default(1) }))
    .min(1),
});
export type ModbusTcpConfig = z.infer<typeof ModbusTcpConfigSchema>;

export const ModbusRtuConfigSchema = z
  .strictObject({
    kind: z.literal('modbus-rtu'),
    id: z.string().regex(/^[a-z0-9_-]+$/).default('modbus-rtu'),
    /** The serial device of this RS-485 line, e.g. /dev/ttyUSB0. */
    port: z.string().min(1),
    baudRate: z.number().int().positive().default(19_200),
    /** Modbus's default frame is 8 data bits, even parity, 1 stop bit (Modbus over Serial Line §2.5.1). */
    parity: z.enum(['none', 'even', 'odd']).default('even'),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
    profiles: z.array(z.string()).default([]),
    defaults: PollDefaultsSchema,
    devices: z.array(ModbusDeviceBaseSchema.extend({ unitId: SerialUnitIdSchema })).min(1),
  })
  .superRefine(
    crossCheck((c, ctx) => {
      const seen = new Set<number>();
      c.devices.forEach((d, i) => {
        if (seen.has(d.unitId)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'unitId'], message: `unit id ${d.unitId} is used twice on this line` });
        seen.add(d.unitId);
      });
    }),
    CROSS_CHECK,
  );
export type ModbusRtuConfig = z.infer<typeof ModbusRtuConfigSchema>;
