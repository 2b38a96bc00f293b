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
