import { Counter, type Registry } from '../runtime/index.ts';
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
