import type { Clock, Logger, Service } from '../../core/index.ts';
import { MqttSensor } from '../devices/mqtt-sensor.ts';
import { ModbusTcpSimServer } from '../devices/modbus-servers.ts';
import { SimSlave } from '../devices/modbus-slave.ts';
import { loadProfiles } from '../../gateway/modbus/profile.ts';
import { sample, transmitterValues, type DeviceModel } from '../signals/models.ts';
import { type GroundTruth, type Scenario, resolveScenario } from './schema.ts';

export interface RunnerOptions {
  url: string;
  /** Overrides the scenario's Modbus port (0: any free port). */
  modbusPort?: number;
  username?: string | undefined;
  password?: string | undefined;
  /** The CA to trust when `url` is mqtts://. */
  ca?: Buffer | undefined;
  log: Logger;
  clock: Clock;
}

export interface RunnerStats {
  simNow: number;
  caughtUp: boolean;
  published: number;
  finished: boolean;
}

const TICK_MS = 50;
const MAX_PER_TICK = 400;
const MAX_INFLIGHT = 500;

/**
 * Plays a scenario: simulated time starts at `start` and runs at `speed` until it reaches the wall
 * clock, then follows it (or stops at `end`). Every device publishes a sample every `sampleEvery`
 * of simulated time (every `liveSampleEvery` once live), stamped with the simulated sample time.
 * Lifecycle: start() connects the sensors and begins; stop() ends; `finished` resolves at `end`.
 */
export class ScenarioRunner implements Service {
  readonly name = 'scenario';
  readonly truth: GroundTruth[];
  readonly finished: Promise<void>;
  private models: DeviceModel[];
  /** The Modbus TCP server of the scenario's Modbus devices, if it has any. */
  readonly modbus: ModbusTcpSimServer | undefined;
  private readonly sensors: MqttSensor[];
  private readonly next: number[];
  private readonly origin: number;
  private readonly simStart: number;
  private readonly simEnd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private simNow: number;
  private caughtUp = false;
  private done = false;
  private modbusStarted = false;
  private resolveFinished!: () => void;

  constructor(
    private readonly scenario: Scenario,
    private readonly opts: RunnerOptions,
  ) {
    this.origin = opts.clock.now();
    const r = resolveScenario(scenario, this.origin);
    this.models = r.models;
    this.truth = r.truth;
    this.simStart = r.start;
    this.simEnd = r.end;
    this.simNow = r.start;
    // Modbus devices are polled live: they serve their model's values at wall-clock time.
    const modbusIds = new Set(scenario.devices.filter((d) => d.modbus).map((d) => d.id));
    const slaves = scenario.devices.flatMap((d, i) => {
      if (!d.modbus) return [];
      const profile = loadProfiles([]).get(d.modbus.profile);
      if (!profile) throw new Error(`scenario device ${d.id}: no Modbus profile ${d.modbus.profile}`);
      const model = r.models[i]!;
      return [new SimSlave(d.modbus.unitId, profile, (t) => transmitterValues(model, t), () => opts.clock.now())];
    });
    this.modbus = slaves.length > 0 ? new ModbusTcpSimServer(slaves, scenario.modbus?.host) : undefined;
    this.models = this.models.filter((m) => !modbusIds.has(m.id));
    this.next = this.models.map(() => r.start);
    this.sensors = this.models.map(
      (m) =>
        new MqttSensor({
          url: opts.url,
          deviceId: m.id,
          username: opts.username,
          password: opts.password,
          ca: opts.ca,
          format: scenario.publish.format,
          prefix: scenario.publish.prefix,
          qos: scenario.publish.qos,
        }),
    );
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** Starts the Modbus devices alone (idempotent), so a gateway can find them before the sensors start. */
  async startModbus(): Promise<void> {
    if (this.modbus && !this.modbusStarted) {
      this.modbusStarted = true;
      await this.modbus.start(this.opts.modbusPort ?? this.scenario.modbus?.port ?? 0);
    }
  }

  async start(): Promise<void> {
    await this.startModbus();
    await Promise.all(this.sensors.map((s) => s.connect()));
    this.opts.log.info(
      {
        scenario: this.scenario.name,
        devices: this.models.length,
        from: new Date(this.simStart).toISOString(),
        to: this.simEnd ? new Date(this.simEnd).toISOString() : 'live',
        speed: this.scenario.speed,
      },
      'scenario started',
    );
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.sensors.map((s) => s.close()));
    await this.modbus?.stop();
    this.finish();
  }

  stats(): RunnerStats {
    return { simNow: this.simNow, caughtUp: this.caughtUp, published: this.sensors.reduce((n, s) => n + s.published, 0), finished: this.done };
  }

  private tick(): void {
    const wall = this.opts.clock.now();
    const accelerated = this.simStart + (wall - this.origin) * this.scenario.speed;
    if (!this.caughtUp && accelerated >= wall) {
      this.caughtUp = true;
      this.opts.log.info({ published: this.stats().published }, 'scenario caught up with the wall clock; continuing live');
    }
    let target = this.caughtUp ? wall : accelerated;
    if (this.simEnd !== undefined) target = Math.min(target, this.simEnd);
    this.simNow = target;
    let behind = false;
    this.models.forEach((m, i) => {
      const sensor = this.sensors[i]!;
      let n = 0;
      while (this.next[i]! <= target && n < MAX_PER_TICK && sensor.inflight < MAX_INFLIGHT) {
        const t = this.next[i]!;
        sensor.publish(sample(m, t), t);
        const live = t >= wall - this.scenario.liveSampleEvery;
        this.next[i] = t + (live && this.caughtUp ? this.scenario.liveSampleEvery : this.scenario.sampleEvery);
        n++;
      }
      if (this.next[i]! <= target) behind = true;
    });
    if (this.simEnd !== undefined && target >= this.simEnd && !behind && this.sensors.every((s) => s.inflight === 0)) this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.resolveFinished();
  }
}
