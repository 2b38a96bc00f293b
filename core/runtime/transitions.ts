import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

/**
 * Logs an up/down condition once per change: one warn when it goes down, one info with the outage
 * length when it recovers. Repetitions in between belong on a counter, not in the log.
 */
export class TransitionLog {
  private downSince: number | undefined;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly what: string,
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  down(reason: string, fields: Record<string, unknown> = {}): void {
    if (this.downSince !== undefined) return;
    this.downSince = this.clock.now();
    this.log.warn({ ...fields, reason }, `${this.what} down`);
  }

  up(fields: Record<string, unknown> = {}): void {
    if (this.downSince === undefined) return;
    const outageMs = this.clock.now() - this.downSince;
    this.downSince = undefined;
    this.log.info({ ...fields, outageMs }, `${this.what} recovered`);
  }
}
