import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { join } from 'node:path';
import { type Reading, type Rejection, createRegistry, silentLogger, systemClock, timeWindow } from '../../core/index.ts';
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
