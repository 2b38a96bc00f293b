import { AggregatorRegistry, Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry, collectDefaultMetrics } from 'prom-client';

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

/** A registry as `getMetricsAsJSON()` gives it: what a process sends another to be shown together. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Several processes' metrics as one Prometheus exposition. Each series carries its process's labels
 * (`worker="1"`), so nothing is summed that should not be. The exception is a metric declared with an
 * aggregator other than `sum` (`max`, `first`, ...): it is a figure every process reads alike, such as a
 * count from the shared store, so its series are left unlabelled and are combined by that aggregator
 * into one series.
 */
export function mergeLabelled(parts: readonly { labels: Record<string, string>; metrics: MetricsJson }[]): Promise<string> {
  const labelled = parts
    .filter((p) => p.metrics.length > 0)
    .map((p) => p.metrics.map((m) => (sharedFigure(m) ? m : { ...m, values: m.values.map((v) => ({ ...v, labels: { ...v.labels, ...p.labels } })) })));
  return AggregatorRegistry.aggregate(labelled).metrics();
}

function sharedFigure(m: MetricsJson[number]): boolean {
  return m.aggregator !== undefined && m.aggregator !== 'sum';
}
