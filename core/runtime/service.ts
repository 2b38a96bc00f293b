import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './logger.ts';

/**
 * Lifecycle: `start()` once, after which the service does its work until `stop()`. `stop()` releases
 * every resource and is safe to call on a service whose start failed part-way.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceGroupOptions {
  log: Logger;
  /** Upper bound for each service's stop; a service that hangs longer is abandoned and logged. */
  stopTimeoutMs?: number;
}

/** Starts services in order and stops them in reverse, so nothing runs without what it depends on. */
export class ServiceGroup implements Service {
  readonly name = 'group';
  private started: Service[] = [];

  constructor(
    private readonly services: readonly Service[],
    private readonly opts: ServiceGroupOptions,
  ) {}

  async start(): Promise<void> {
    for (const s of this.services) {
      try {
        await s.start();
        this.started.push(s);
      } catch (err) {
        this.opts.log.error({ service: s.name, err }, 'start failed; stopping what already started');
        await this.stopStarted();
        throw err;
      }
    }
  }

  async stop(): Promise<void> {
    await this.stopStarted();
  }

  private async stopStarted(): Promise<void> {
    const timeout = this.opts.stopTimeoutMs ?? 10_000;
    while (this.started.length > 0) {
      const s = this.started.pop()!;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        s.stop().then(
          () => 'ok' as const,
          (err: unknown) => {
            this.opts.log.error({ service: s.name, err }, 'stop failed');
            return 'failed' as const;
          },
        ),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeout);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout') this.opts.log.warn({ service: s.name, timeoutMs: timeout }, 'stop timed out; moving on');
    }
  }
}

/** A Service from two functions. */
export function service(name: string, start: () => Promise<void>, stop: () => Promise<void>): Service {
  return { name, start, stop };
}

/**
 * A Service that runs `tick` every `everyMs`, counted from the end of the last tick so a slow tick never
 * overlaps the next, and `last` once on stop (after the timer is cleared), so nothing pending is left
 * behind. A tick that fails is logged and the next one runs as planned.
 */
export function periodicService(
  name: string,
  opts: { everyMs: number; clock: Clock; log: Logger },
  tick: () => Promise<void>,
  last: () => Promise<unknown> = tick,
): Service {
  let timer: TimerHandle | undefined;
  let stopped = true;
  const loop = async () => {
    try {
      await tick();
    } catch (err) {
      opts.log.error({ service: name, err }, 'periodic task failed; the next round runs as planned');
    }
    if (!stopped) timer = opts.clock.setTimeout(() => void loop(), opts.everyMs);
  };
  return {
    name,
    async start() {
      stopped = false;
      timer = opts.clock.setTimeout(() => void loop(), opts.everyMs);
    },
    async stop() {
      stopped = true;
      if (timer) opts.clock.clearTimeout(timer);
      await last();
    },
  };
}
