import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock, sleep } from './clock.ts';
import { createLogger, silentLogger } from './logger.ts';
import { type Service, ServiceGroup, periodicService } from './service.ts';
import { Backoff } from './backoff.ts';

function recorder(log: string[], name: string, opts: { failStart?: boolean; hangStop?: boolean } = {}): Service {
  return {
    name,
    async start() {
      if (opts.failStart) throw new Error(`${name} cannot start`);
      log.push(`start ${name}`);
    },
    async stop() {
      log.push(`stop ${name}`);
      if (opts.hangStop) await new Promise(() => undefined);
    },
  };
}

describe('ServiceGroup', () => {
  it('starts in order and stops in reverse', async () => {
    const log: string[] = [];
    const g = new ServiceGroup([recorder(log, 'db'), recorder(log, 'sink'), recorder(log, 'broker')], { log: silentLogger() });
    await g.start();
    await g.stop();
    expect(log).toEqual(['start db', 'start sink', 'start broker', 'stop broker', 'stop sink', 'stop db']);
  });

  it('stops what started when a later service fails to start, then rethrows', async () => {
    const log: string[] = [];
    const g = new ServiceGroup([recorder(log, 'db'), recorder(log, 'broker', { failStart: true })], { log: silentLogger() });
    await expect(g.start()).rejects.toThrow('broker cannot start');
    expect(log).toEqual(['start db', 'stop db']);
  });

  it('bounds shutdown: a hanging stop is abandoned after the timeout', async () => {
    const log: string[] = [];
    const g = new ServiceGroup([recorder(log, 'db'), recorder(log, 'stuck', { hangStop: true })], { log: silentLogger(), stopTimeoutMs: 50 });
    await g.start();
    await g.stop();
    expect(log).toEqual(['start db', 'start stuck', 'stop stuck', 'stop db']);
  });
});

describe('ManualClock', () => {
  it('runs due timers in time order as time advances', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 300);
    const h = clock.setTimeout(() => fired.push(-1), 200);
    clock.setTimeout(() => fired.push(clock.now()), 100);
    clock.clearTimeout(h);
    clock.advance(250);
    expect(fired).toEqual([100]);
    const slept = sleep(clock, 1000).then(() => fired.push(clock.now()));
    clock.advance(1000);
    await slept;
    expect(fired).toEqual([100, 300, 1250]);
  });
});

describe('Backoff', () => {
  it('grows exponentially to the cap and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('jitters within the ceiling', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5, random: () => 0 });
    expect(b.next()).toBe(500);
  });
});

describe('periodicService', () => {
  it('ticks every interval from the end of the last tick, goes on after a failed tick, and runs its last round once on stop', async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const lasts: number[] = [];
    const lines: string[] = [];
    const log = createLogger({ level: 'error', destination: new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(chunk.toString()), cb()) }) });
    const s = periodicService(
      'p',
      { everyMs: 1000, clock, log },
      async () => {
        ticks.push(clock.now());
        if (ticks.length === 2) throw new Error('store away');
      },
      async () => void lasts.push(clock.now()),
    );
    await clock.advanceAsync(5000);
    expect(ticks).toEqual([]); // not started: nothing runs
    await s.start();
    await clock.advanceAsync(3500);
    expect(ticks).toEqual([6000, 7000, 8000]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('store away');
    await s.stop();
    expect(lasts).toEqual([8500]);
    await clock.advanceAsync(5000);
    expect(ticks).toHaveLength(3); // stopped: no timer left
  });
});
