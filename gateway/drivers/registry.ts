import { z } from 'zod';
import { MqttDeviceConfigSchema } from './mqtt-device/config.ts';
import { mqttDeviceDriver } from './mqtt-device/index.ts';
import { modbusTcpDriver } from './modbus-tcp/index.ts';
import { modbusRtuDriver } from './modbus-rtu/index.ts';
import { ModbusRtuConfigSchema, ModbusTcpConfigSchema } from '../modbus/config.ts';
import type { Driver, DriverContext, DriverDefinition } from './types.ts';

/** Every driver Vigil ships, by kind. Adding a driver means adding it here (and to the union below). */
export const DRIVERS = [mqttDeviceDriver, modbusTcpDriver, modbusRtuDriver] as const;

export const DriverConfigSchema = z.discriminatedUnion('kind', [MqttDeviceConfigSchema, ModbusTcpConfigSchema, ModbusRtuConfigSchema]);
export type DriverConfig = z.infer<typeof DriverConfigSchema>;

export function createDriver(config: DriverConfig, ctx: DriverContext): Driver {
  const def = DRIVERS.find((d) => d.kind === config.kind) as DriverDefinition<DriverConfig> | undefined;
  if (!def) throw new Error(`no driver of kind ${config.kind}`);
  return def.create(config, ctx);
}
