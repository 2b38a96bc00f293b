import { type Clock, type DeviceState, type Logger, type Reading, type Rejection, checkReading, type TimeWindow } from '../../core/index.ts';
import type { Bus } from './bus.ts';
import { decodeBlock, type DecodedValue } from './decode.ts';
import { EXCEPTION_NAMES } from './frames.ts';
import { type LearnedMap, type ReadBlock, emptyLearnedMap, planReads, splitPoint } from './planner.ts';
import { type MappedRegister, type Profile, mapRegisters } from './profile.ts';
import { ModbusLinkError } from './transport.ts';

export type { DeviceState };

export interface PollSettings {
  pollInterval: number;
  timeout: number;
  /** Extra attempts per read while the device is healthy (none while it is failing). */
  retries: number;
  /** Consecutive failed polls before the device counts as offline (and is polled with backoff). */
  offlineAfter: number;
  /** Longest poll interval while offline. */
  maxBackoff: number;
}

export interface ModbusDeviceSpec {
  id: string;
  unitId: number;
  profile: Profile;
  settings: PollSettings;
}

export interface PollerHooks {
  readings(readings: Reading[]): Promise<void>;
  rejected(r: Rejection, deviceId: string): void;
  window(): TimeWindow;
  /** Per poll: outcome, duration, and the failure reason when it failed. */
  polled(deviceId: string, outcome: 'ok' | 'failed' | 'overrun', ms: number, reason?: string): void;
  stateChanged(deviceId: string, from: DeviceState, to: DeviceState): void;
}

export interface DeviceStatus {
  id: string;
  unitId: number;
  link: string;
  profile: string;
  state: DeviceState;
  since: number;
  lastPollAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  consecutiveFailures: number;
  learnedHoles: number;
  refusedRegisters: number;
}

/**
 * Polls one device on its schedule through its bus, decodes its profile into Readings (all stamped with
 * the time of the poll's first request), and keeps its state: connecting → online, then degraded on a
 * failed poll and offline after `offlineAfter` in a row; offline devices are polled with exponential
 * backoff. Each change of state is logged once; recovery says how long the outage lasted.
 */
export class DevicePoller {
  private readonly registers: MappedRegister[];
  private readonly learned: LearnedMap = emptyLearnedMap();
  /** The reads of one poll, planned once and again only when the device teaches a hole or a refusal. */
  private plan: readonly ReadBlock[] | undefined;
  private state: DeviceState = 'connecting';
  private since: number;
  private failures = 0;
  private lastPollAt: number | undefined;
  private lastSuccessAt: number | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inProgress = false;
  private stopped = true;
  private nextDue = 0;
  private holes = 0;
  private outageStart: number | undefined;
  private readonly log: Logger;

  constructor(
    private readonly spec: ModbusDeviceSpec,
    private readonly bus: Bus,
    private readonly hooks: PollerHooks,
    private readonly clock: Clock,
    log: Logger,
  ) {
    this.registers = mapRegisters(spec.profile);
    this.since = clock.now();
    this.log = log.child({ deviceId: spec.id, unitId: spec.unitId, link: bus.transport.id });
  }

  start(): void {
    this.stopped = false;
    // Spread the first polls of a fleet over one interval instead of sending them all at once.
    this.nextDue = this.clock.now() + Math.random() * this.spec.settings.pollInterval;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  status(): DeviceStatus {
    let refused = 0;
    for (const s of this.learned.refused.values()) refused += s.size;
    return {
      id: this.spec.id,
      unitId: this.spec.unitId,
      link: this.bus.transport.id,
      profile: this.spec.profile.name,
      state: this.state,
      since: this.since,
      lastPollAt: this.lastPollAt,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      learnedHoles: this.holes,
      refusedRegisters: refused,
    };
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, this.nextDue - this.clock.now()));
  }

  private async tick(): Promise<void> {
    const s = this.spec.settings;
    const now = this.clock.now();
    const interval = this.state === 'offline' ? Math.min(s.maxBackoff, s.pollInterval * 2 ** Math.min(10, this.failures - s.offlineAfter + 1)) : s.pollInterval;
    // Keep a steady cadence; after a stall, start again from now rather than firing a burst.
    this.nextDue += interval;
    if (this.nextDue <= now) this.nextDue = now + interval;
    if (this.inProgress) {
      this.hooks.polled(this.spec.id, 'overrun', 0);
    } else {
      void this.poll();
    }
    this.arm();
  }

  /** One poll of every register of the profile. Exposed for the diagnostics command and tests. */
  async poll(): Promise<{ values: DecodedValue[]; ts: number } | { error: string }> {
    this.inProgress = true;
    const started = this.clock.now();
    this.lastPollAt = started;
    try {
      const out = await this.readAll();
      if ('error' in out) this.fail(out.error);
      else await this.succeed(out.values, out.ts);
      this.hooks.polled(this.spec.id, 'error' in out ? 'failed' : 'ok', this.clock.now() - started, 'error' in out ? out.reason : undefined);
      return 'error' in out ? { error: out.error } : out;
    } finally {
      this.inProgress = false;
    }
  }

  private async readAll(): Promise<{ values: DecodedValue[]; ts: number } | { error: string; reason: string }> {
    const { profile, settings, unitId } = this.spec;
    const limits = { maxRegisters: profile.maxRegistersPerRead, maxGap: profile.maxGap };
    this.plan ??= planReads(this.registers, limits, this.learned);
    const queue: ReadBlock[] = [...this.plan];
    const values: DecodedValue[] = [];
    // Retries are for devices known to answer; a device not yet seen is probed once, like a failing one.
    const healthy = this.state === 'online';
    const lane = this.state === 'online' || this.state === 'connecting' ? 'healthy' : 'failing';
    let ts: number | undefined;
    while (queue.length > 0) {
      const block = queue.shift()!;
      let answer;
      try {
        answer = await this.bus.run(async () => {
          ts ??= this.clock.now();
          for (let attempt = 0; ; attempt++) {
            try {
              return await this.bus.transport.read(unitId, block.table, block.start, block.count, settings.timeout);
            } catch (err) {
              if (!(err instanceof ModbusLinkError) || attempt >= (healthy ? settings.retries : 0) || err.failure === 'offline') throw err;
            }
          }
        }, lane);
      } catch (err) {
        const reason = err instanceof ModbusLinkError ? err.failure : 'error';
        return { error: err instanceof Error ? err.message : String(err), reason };
      }
      if (answer.kind === 'exception') {
        if (answer.code === 2) {
          this.learnHole(block, queue, limits);
          continue;
        }
        return { error: `Modbus exception ${answer.code} (${EXCEPTION_NAMES[answer.code] ?? 'unknown'}) reading ${block.table} ${block.start}+${block.count}`, reason: `exception_${answer.code}` };
      }
      try {
        values.push(...decodeBlock(block, answer.data));
      } catch (err) {
        return { error: (err as Error).message, reason: 'protocol' };
      }
    }
    return { values, ts: ts ?? this.clock.now() };
  }

  /**
   * Exception 02 for a read of several registers means the read spans an address the device does not
   * have. Split it where a barrier halves its registers, remember the barrier, and read the halves now;
   * a single register that is refused on its own is set aside (and reported once).
   */
  private learnHole(block: ReadBlock, queue: ReadBlock[], limits: { maxRegisters: number; maxGap: number }): void {
    const at = splitPoint(block);
    if (at !== undefined) {
      this.plan = undefined;
      let barriers = this.learned.barriers.get(block.table);
      if (!barriers) this.learned.barriers.set(block.table, (barriers = new Set()));
      barriers.add(at);
      this.holes++;
      queue.unshift(...planReads(block.registers, limits, this.learned));
      this.log.info({ table: block.table, start: block.start, count: block.count, splitAt: at }, 'device refused a read spanning a hole; reading around it from now on');
      return;
    }
    this.plan = undefined;
    let refused = this.learned.refused.get(block.table);
    if (!refused) this.learned.refused.set(block.table, (refused = new Set()));
    refused.add(block.start);
    for (const r of block.registers) {
      this.hooks.rejected({ code: 'bad_field', message: `device refuses ${block.table} register ${block.start} (illegal data address): check the profile` }, this.spec.id);
      this.log.warn({ table: block.table, address: block.start, metric: r.spec.metric ?? r.spec.name }, 'device refuses this register; it is skipped');
    }
  }

  private async succeed(values: DecodedValue[], ts: number): Promise<void> {
    const window = this.hooks.window();
    const readings: Reading[] = [];
    for (const v of values) {
      const metric = v.register.spec.metric;
      if (!metric || typeof v.value !== 'number') continue;
      const r: Reading = { deviceId: this.spec.id, metric, value: v.value, ts };
      const problem = checkReading(r, window);
      if (problem) this.hooks.rejected(problem, this.spec.id);
      else readings.push(r);
    }
    if (readings.length > 0) await this.hooks.readings(readings);
    this.failures = 0;
    this.lastError = undefined;
    this.lastSuccessAt = ts;
    this.setState('online');
  }

  private fail(error: string): void {
    this.failures++;
    this.lastError = error;
    this.setState(this.failures >= this.spec.settings.offlineAfter ? 'offline' : 'degraded', error);
  }

  private setState(to: DeviceState, error?: string): void {
    const from = this.state;
    if (from === to) return;
    const now = this.clock.now();
    if (from === 'online' || from === 'connecting') this.outageStart = now;
    this.state = to;
    this.since = now;
    this.hooks.stateChanged(this.spec.id, from, to);
    if (to === 'online') {
      if (from === 'connecting') this.log.info('device online');
      else this.log.info({ from, outageMs: now - (this.outageStart ?? now) }, 'device recovered');
    } else if (to === 'degraded') this.log.warn({ error }, 'device degraded: a poll failed');
    else if (to === 'offline') this.log.warn({ error, failures: this.failures }, 'device offline; polling with backoff');
  }
}
