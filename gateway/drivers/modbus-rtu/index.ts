import { ModbusDriver, ModbusRtuConfigSchema, RtuTransport, type ModbusRtuConfig } from '../../modbus/index.ts';
import type { DriverDefinition } from '../types.ts';

export type { ModbusRtuConfig };

export const modbusRtuDriver: DriverDefinition<ModbusRtuConfig> = {
  kind: 'modbus-rtu',
  description: 'Devices on one RS-485 line polled over Modbus RTU, one request at a time',
  configSchema: ModbusRtuConfigSchema,
  create(config, ctx) {
    const transport = new RtuTransport(
      { path: config.port, baudRate: config.baudRate, parity: config.parity, dataBits: config.dataBits, stopBits: config.stopBits },
      ctx.log,
      ctx.clock,
    );
    return new ModbusDriver('modbus-rtu', config.id, [{ transport, devices: config.devices }], config.profiles, config.defaults, ctx);
  },
};
