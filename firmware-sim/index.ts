export { ScenarioRunner, type RunnerStats } from './scenarios/runner.ts';
export { ScenarioSchema, type Scenario, type GroundTruth, resolveScenario, resolveTime } from './scenarios/schema.ts';
export { sample, truth, progress, load, SIM_METRICS, type DeviceModel, type Sample } from './signals/models.ts';
export { MqttSensor } from './devices/mqtt-sensor.ts';
export { transmitterValues } from './signals/models.ts';
export { SimSlave, type SlaveFaults, type ValueSource } from './devices/modbus-slave.ts';
export { ModbusTcpSimServer, ModbusRtuSimBus } from './devices/modbus-servers.ts';
