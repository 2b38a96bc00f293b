/**
 * All time goes through a Clock so that baselines, backoff, debounce and deadlines can be tested by
 * moving time instead of sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export const systemClock: Clock = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      // A pending retry or flush must never keep a stopping process alive.
      t.unref();
      timers.set(id, t);
      return { id };
    },
    clearTimeout(handle) {
      const t = timers.get(handle.id);
      if (t) clearTimeout(t);
      timers.delete(handle.id);
    },
  };
})();

/** A clock that only moves when told to; due timers run in time order during {@link advance}. */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (let timer = this.due(until); timer; timer = this.due(until)) timer.fn();
    this.time = until;
  }

  /**
   * As {@link advance}, letting each timer's asynchronous work (`settle`, by default what is queued
   * now and the store's replies to it) finish before the next timer is due: for timers whose callback
   * starts async work that sets the next timer when it ends.
   */
  async advanceAsync(ms: number, settle: () => Promise<void> = () => new Promise((r) => setTimeout(r, 5))): Promise<void> {
    const until = this.time + ms;
    for (let timer = this.due(until); timer; timer = this.due(until)) {
      timer.fn();
      await settle();
    }
    this.time = until;
  }

  /** Takes the first timer due by `until` off the list and moves the time to it. */
  private due(until: number): { at: number; fn: () => void } | undefined {
    let dueId: number | undefined;
    let dueAt = Infinity;
    for (const [id, t] of this.timers) {
      if (t.at <= until && t.at < dueAt) {
        dueAt = t.at;
        dueId = id;
      }
    }
    if (dueId === undefined) return undefined;
    const timer = this.timers.get(dueId)!;
    this.timers.delete(dueId);
    this.time = Math.max(this.time, timer.at);
    return timer;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(handle);
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
