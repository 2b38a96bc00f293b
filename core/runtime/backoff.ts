/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * spreads the reconnects of a fleet that lost its uplink at the same moment.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** 0..1: the share of each delay that is random. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.attempt++, this.opts);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** The delay before retry number `attempt` (0 for the first retry), for callers that keep the count themselves. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.5, random = Math.random } = opts;
  const ceiling = Math.min(maxMs, initialMs * factor ** attempt);
  return Math.round(ceiling * (1 - jitter) + ceiling * jitter * random());
}
