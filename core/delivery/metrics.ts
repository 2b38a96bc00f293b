import { Counter, Gauge, type Registry } from '../runtime/index.ts';
import type { DeliveryOutcomeKind } from './outcome.ts';

const counters = new WeakMap<Registry, Counter<'output' | 'outcome'>>();

/**
 * `vigil_delivery_attempts_total{output, outcome}`: every output counts its attempts under one name, so
 * one dashboard and one alert cover them all. Registered once per registry, shared by the outputs.
 */
export function deliveryAttempts(registry: Registry, output: string): (outcome: DeliveryOutcomeKind, n?: number) => void {
  let c = counters.get(registry);
  if (!c) counters.set(registry, (c = new Counter({ name: 'vigil_delivery_attempts_total', help: 'Delivery attempts of every output (tsdb, webhook), by outcome', labelNames: ['output', 'outcome'], registers: [registry] })));
  const counter = c;
  return (outcome, n = 1) => counter.inc({ output, outcome }, n);
}

const queues = new WeakMap<Registry, Map<string, () => number | Promise<number>>>();

/** `vigil_delivery_queue{output}`: what each output holds that its target has not taken yet. */
export function deliveryQueue(registry: Registry, output: string, read: () => number | Promise<number>): void {
  let outputs = queues.get(registry);
  if (!outputs) {
    const map = new Map<string, () => number | Promise<number>>();
    queues.set(registry, (outputs = map));
    new Gauge({
      name: 'vigil_delivery_queue',
      help: 'Items each output (tsdb, webhook) holds that its target has not taken yet',
      labelNames: ['output'],
      registers: [registry],
      async collect() {
        for (const [name, r] of map) this.set({ output: name }, await r());
      },
    });
  }
  outputs.set(output, read);
}
