import { describe, expect, it } from 'vitest';
import { ManualClock, sleep } from './clock.ts';
import { silentLogger } from './logger.ts';
import { type Service, ServiceGroup } from './service.ts';
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
