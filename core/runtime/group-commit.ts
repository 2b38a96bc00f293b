/**
 * Gathers the writes that arrive within one turn of the event loop and commits them together:
 * one SQLite transaction (one WAL append) instead of one per message, while each caller still
 * learns when its own write is durable. A write that nobody waits on (a polled value, not a sensor's
 * message awaiting its acknowledgement) may say it can wait `withinMs`: those gather for that long,
 * so a gateway polling 200 devices commits a few times a second rather than 200 times.
 */
export class GroupCommit<T> {
  private pending: T[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly commit: (items: T[]) => void) {}

  add(item: T, withinMs = 0): Promise<void> {
    this.pending.push(item);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (withinMs > 0) {
        this.timer ??= setTimeout(() => this.flush(), withinMs);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is pending now (also called by the scheduled turn and by the timer). */
  flush(): void {
    this.scheduled = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const items = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      this.commit(items);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) w.resolve();
  }
}
