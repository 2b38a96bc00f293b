import { ModbusDriver, ModbusTcpConfigSchema, TcpTransport, type ModbusTcpConfig } from '../../modbus/index.ts';
import type { DriverDefinition } from '../types.ts';

export type { ModbusTcpConfig };

export const modbusTcpDriver: DriverDefinition<ModbusTcpConfig> = {
  kind: 'modbus-tcp',
  description: 'Devices polled over Modbus TCP (one connection per host:port, several unit ids on it)',
  configSchema: ModbusTcpConfigSchema,
  create(config, ctx) {
    const links = new Map<string, { transport: TcpTransport; devices: ModbusTcpConfig['devices'] }>();
    for (const d of config.devices) {
      const key = `${d.host}:${d.port}`;
      let l = links.get(key);
      if (!l) links.set(key, (l = { transport: new TcpTransport(d.host, d.port, ctx.log, ctx.clock), devices: [] }));
      l.devices.push(d);
    }
    return new ModbusDriver('modbus-tcp', config.id, [...links.values()], config.profiles, config.defaults, ctx);
  },
};
