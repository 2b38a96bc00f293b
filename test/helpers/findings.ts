import { type Finding, dedupeKeyOf } from '../../core/index.ts';

/** A kurtosis finding on a bearing, as the default ruleset's kurtosis-baseline rule emits it. */
export function bearingFinding(deviceId: string, o: Partial<Finding> = {}): Finding {
  return {
    ruleId: 'kurtosis-baseline',
    deviceId,
    metric: 'vibration_kurtosis',
    severity: 'warning',
    event: 'fire',
    fault: 'bearing_wear',
    at: Date.now(),
    evidence: { kind: 'baseline', value: 9, baseline: 3, score: 8, warning: 6, critical: 15, measure: 'deviations' },
    dedupeKey: dedupeKeyOf(deviceId, o.fault ?? 'bearing_wear'),
    site: 'plant-a',
    ...o,
  };
}
