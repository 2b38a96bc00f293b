// Runs N simulated Modbus TCP devices (one listener each) and an acknowledging MQTT broker for the
// gateway's uplink, in their own process; prints the ports as one JSON line, runs until killed.
import { parseArgs } from 'node:util';
import { EmbeddedBroker, silentLogger } from '../core/index.ts';
import { ModbusTcpSimServer, SimSlave, transmitterValues } from '../firmware-sim/index.ts';
import { loadProfiles } from '../gateway/modbus/index.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '200' }, profiles: { type: 'string' } } });
const profile = loadProfiles([values.profiles!]).get('bench-20')!;
const ports: number[] = [];
for (let i = 0; i < Number(values.devices); i++) {
  const model = { id: `d${i}`, seed: i + 1, vibration: 1.5, temperature: 45, ambient: 22, sensorFaults: [] };
  const s = await new ModbusTcpSimServer([new SimSlave(1, profile, (t) => ({ ...transmitterValues(model, t), motor_current: 12, speed_rpm: 1480 }))]).start();
  ports.push(s.port);
}
const broker = new EmbeddedBroker<true>({ host: '127.0.0.1', port: 0, log: silentLogger(), hooks: { authenticate: () => true, onPublish: () => 'accept', authorizeSubscribe: () => false } });
await broker.start();
console.log(JSON.stringify({ ports, broker: broker.port }));
