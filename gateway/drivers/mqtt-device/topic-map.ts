import { isId, isMetricId, type MetricId, type Rejection } from '../../../core/index.ts';

export interface TopicMapping {
  pattern: string;
  device?: string;
  metric?: MetricId;
}

export interface TopicMatch {
  deviceId: string;
  /** The metric when the topic names it; otherwise the payload carries metric names. */
  metric: MetricId | undefined;
}

type Level = { literal: string } | { placeholder: 'device' | 'metric' };

interface Compiled {
  levels: Level[];
  mapping: TopicMapping;
}

/** Problems with a pattern, for config validation (empty when it is usable). */
export function patternProblems(m: TopicMapping): string[] {
  const problems: string[] = [];
  const levels = m.pattern.split('/');
  if (m.pattern.length === 0) problems.push('pattern is empty');
  if (/[#+]/.test(m.pattern)) problems.push('use {device} and {metric} placeholders, not MQTT wildcards');
  for (const l of levels) {
    if (/[{}]/.test(l) && l !== '{device}' && l !== '{metric}') problems.push(`level "${l}": a placeholder must be a whole level, {device} or {metric}`);
  }
  const hasDevice = levels.includes('{device}');
  const hasMetric = levels.includes('{metric}');
  if (!hasDevice && !m.device) problems.push('pattern has no {device} level and no fixed device is given');
  if (hasDevice && m.device) problems.push('give either a {device} level or a fixed device, not both');
  if (hasMetric && m.metric) problems.push('give either a {metric} level or a fixed metric, not both');
  if (levels.filter((l) => l === '{device}').length > 1 || levels.filter((l) => l === '{metric}').length > 1) {
    problems.push('each placeholder may appear once');
  }
  return problems;
}

/** Maps MQTT topics to (device, metric) through configured patterns; the first matching pattern wins. */
export class TopicMap {
  private readonly compiled: Compiled[];

  constructor(mappings: readonly TopicMapping[]) {
    this.compiled = mappings.map((mapping) => ({
      mapping,
      levels: mapping.pattern.split('/').map((l): Level => (l === '{device}' || l === '{metric}' ? { placeholder: l === '{device}' ? 'device' : 'metric' } : { literal: l })),
    }));
  }

  /** MQTT subscription filters covering every pattern. */
  filters(): string[] {
    return [...new Set(this.compiled.map((c) => c.levels.map((l) => ('literal' in l ? l.literal : '+')).join('/')))];
  }

  /** The device and metric of a topic; a Rejection when a pattern matched but its values are invalid. */
  match(topic: string): TopicMatch | Rejection | undefined {
    const parts = topic.split('/');
    for (const c of this.compiled) {
      if (c.levels.length !== parts.length) continue;
      let device = c.mapping.device;
      let metric: string | undefined = c.mapping.metric;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const l = c.levels[i]!;
        const p = parts[i]!;
        if ('literal' in l) ok = l.literal === p;
        else if (l.placeholder === 'device') device = p;
        else metric = p;
      }
      if (!ok) continue;
      if (!isId(device)) return { code: 'bad_device', message: `device id ${JSON.stringify(device)} in topic is not a valid id` };
      if (metric !== undefined && !isMetricId(metric)) return { code: 'unknown_metric', message: `unknown metric ${JSON.stringify(metric)} in topic` };
      return { deviceId: device, metric: metric as MetricId | undefined };
    }
    return undefined;
  }
}
