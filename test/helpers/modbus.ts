import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { join } from 'node:path';
import { type Reading, type Rejection, createRegistry, parseConfig, silentLogger, systemClock, timeWindow } from '../../core/index.ts';
import { DRIVERS, DriverConfigSchema } from '../../gateway/drivers/registry.ts';
import type { Driver } from '../../gateway/drivers/types.ts';
import type { ModbusDriver } from '../../gateway/modbus/index.ts';
import type { DriverContext } from '../../gateway/drivers/types.ts';
import { requireBinary, stopProcess } from './binaries.ts';
import { waitFor } from './net.ts';
import { testLogger } from './pipeline.ts';
import { tempDir } from './tmp.ts';

/** A driver context whose sink keeps what it is given, for driver tests against real devices. */
export function collectingContext(): { ctx: DriverContext; readings: Reading[]; rejections: (Rejection & { deviceId?: string })[] } {
  const readings: Reading[] = [];
  const rejections: (Rejection & { deviceId?: string })[] = [];
  const ctx: DriverContext = {
    log: process.env.VIGIL_TEST_LOG ? testLogger() : silentLogger(),
    clock: systemClock,
    registry: createRegistry(),
    sink: {
      async accept(rs) {
        readings.push(...rs);
      },
      seen: () => false,
    },
    isKnownDevice: () => true,
    window: () => timeWindow(Date.now(), 400 * 86_400_000, 300_000),
    rejected: (_driver, r, d) => rejections.push({ ...r, ...(d.deviceId ? { deviceId: d.deviceId } : {}) }),
    accepted: () => undefined,
  };
  return { ctx, readings, rejections };
}

/** Two pseudo-terminals wired together by socat: a virtual RS-485 line for RTU tests. */
export class SerialPair {
  private proc: ChildProcess | undefined;
  private readonly tmp = tempDir('vigil-serial-');
  readonly a = join(this.tmp.dir, 'master');
  readonly b = join(this.tmp.dir, 'slaves');

  async start(): Promise<this> {
    const socat = requireBinary('/usr/bin/socat', 'socat');
    this.proc = spawn(socat, [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: 'ignore' });
    await waitFor(() => existsSync(this.a) && existsSync(this.b), { timeoutMs: 5000, message: 'socat made the serial pair' });
    return this;
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
    this.tmp.cleanup();
  }
}

/** Writes profiles as YAML files into a temp folder, for a driver's `profiles:` list. */
export function profileFolder(profiles: Record<string, unknown>[]): { dir: string; stop(): Promise<void> } {
  const tmp = tempDir('vigil-profiles-');
  for (const p of profiles) writeFileSync(join(tmp.dir, `${String(p.name)}.yaml`), stringify(p));
  return { dir: tmp.dir, stop: async () => tmp.cleanup() };
}

/** Builds a driver from config exactly as the gateway does, with a collecting sink; `running` stops it later. */
export function modbusDriver(config: Record<string, unknown>, running: { stop(): Promise<void> }[]) {
  const c = collectingContext();
  const parsed = parseConfig(DriverConfigSchema, config, {});
  const def = DRIVERS.find((d) => d.kind === parsed.kind)!;
  const d = (def.create as (c: unknown, ctx: unknown) => Driver)(parsed, c.ctx) as ModbusDriver;
  running.push(d);
  return { driver: d, ...c };
}

/** How many polls of a device produced readings (readings of one poll share their timestamp). */
export const pollsOf = (readings: readonly { deviceId: string; ts: number }[], id: string): number => new Set(readings.filter((r) => r.deviceId === id).map((r) => r.ts)).size;
