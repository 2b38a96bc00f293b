import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/**
 * One registry per process (or per test), never prom-client's global one, so two servers built in the
 * same test process keep separate counts.
 */
export function createRegistry(opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  return registry;
}

/** Current value of a counter or gauge (summed over labels unless `labels` narrows it). */
export async function metricValue(registry: Registry, name: string, labels?: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let sum = 0;
  for (const v of data.values) {
    if (labels && !Object.entries(labels).every(([k, val]) => v.labels[k] === val)) continue;
    sum += v.value;
  }
  return sum;
}
