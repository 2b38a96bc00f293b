import type { ModbusTransport } from './transport.ts';

interface Job {
  run(): Promise<void>;
}

/**
 * One serialized queue per physical link: a serial line carries one request at a time, and so does
 * the Vigil side of a TCP connection. Devices that answer go first; devices that are failing wait in
 * a second lane, so a dead slave can delay its neighbours by at most one timeout per its (backed-off)
 * poll, never by a backlog.
 */
export class Bus {
  private readonly healthy: Job[] = [];
  private readonly failing: Job[] = [];
  private busy = false;

  constructor(readonly transport: ModbusTransport) {}

  get queued(): number {
    return this.healthy.length + this.failing.length;
  }

  run<T>(fn: () => Promise<T>, lane: 'healthy' | 'failing' = 'healthy'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (lane === 'healthy' ? this.healthy : this.failing).push({ run: () => fn().then(resolve, reject) });
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    const job = this.healthy.shift() ?? this.failing.shift();
    if (!job) return;
    this.busy = true;
    void job.run().finally(() => {
      this.busy = false;
      this.next();
    });
  }
}
