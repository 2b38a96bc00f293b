import { describe, expect, it } from 'vitest';
import { Counter, Gauge, createRegistry, mergeLabelled } from './metrics.ts';

/** One worker's registry: what it counts itself, and a figure it reads from the shared store. */
async function worker(ingested: number, tickets: number) {
  const registry = createRegistry();
  new Counter({ name: 'vigil_readings_ingested_total', help: 'h', registers: [registry] }).inc(ingested);
  const open = new Gauge({ name: 'vigil_tickets', help: 'h', labelNames: ['status'], registers: [registry], aggregator: 'max' });
  open.set({ status: 'open' }, tickets);
  open.set({ status: 'closed' }, 2);
  return registry.getMetricsAsJSON();
}

describe('mergeLabelled', () => {
  it("labels what each process counts itself, and shows a figure every process reads alike once", async () => {
    const text = await mergeLabelled([
      { labels: { worker: '0' }, metrics: await worker(10, 5) },
      { labels: { worker: '1' }, metrics: await worker(32, 5) },
    ]);
    expect(text).toMatch(/^vigil_readings_ingested_total\{worker="0"\} 10$/m);
    expect(text).toMatch(/^vigil_readings_ingested_total\{worker="1"\} 32$/m);
    // Once per status, without a worker label, not summed to 10.
    expect(text.match(/^vigil_tickets\{.*$/gm)?.sort()).toEqual(['vigil_tickets{status="closed"} 2', 'vigil_tickets{status="open"} 5']);
  });

  it('takes the higher figure when one worker read the store a moment after the other', async () => {
    const text = await mergeLabelled([
      { labels: { worker: '0' }, metrics: await worker(1, 4) },
      { labels: { worker: '1' }, metrics: await worker(1, 5) },
    ]);
    expect(text).toMatch(/^vigil_tickets\{status="open"\} 5$/m);
  });

  it('leaves out a worker that did not answer', async () => {
    const text = await mergeLabelled([
      { labels: { worker: '0' }, metrics: [] },
      { labels: { worker: '1' }, metrics: await worker(7, 3) },
    ]);
    expect(text).not.toMatch(/worker="0"/);
    expect(text).toMatch(/^vigil_readings_ingested_total\{worker="1"\} 7$/m);
    expect(text).toMatch(/^vigil_tickets\{status="open"\} 3$/m);
  });
});
