import type { DriverDefinition } from '../types.ts';
import { type MqttDeviceConfig, MqttDeviceConfigSchema } from './config.ts';
import { MqttDeviceDriver } from './driver.ts';

export { MqttDeviceDriver } from './driver.ts';
export { parsePayload } from './payload.ts';
export { TopicMap } from './topic-map.ts';
export type { MqttDeviceConfig } from './config.ts';

export const mqttDeviceDriver: DriverDefinition<MqttDeviceConfig> = {
  kind: 'mqtt-device',
  description: 'Sensors publishing over MQTT: hosts the site broker (aedes) or subscribes to an existing one',
  configSchema: MqttDeviceConfigSchema,
  create: (config, ctx) => new MqttDeviceDriver(config, ctx),
};
