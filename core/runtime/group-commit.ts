/**
 * Gathers the writes that arrive within one turn of the event loop and commits them together:
 * one SQLite transaction (one WAL append) instead of one per message, while each caller still
 * learns when its own write is durable.
 */
export class GroupCommit<T> {
  private pending: T[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly commit: (items: T[]) => void) {}

  add(item: T): Promise<void> {
    this.pending.push(item);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is pending now (also called by the scheduled turn). */
  flush(): void {
    this.scheduled = false;
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
