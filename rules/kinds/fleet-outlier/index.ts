import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import type { FleetEntry } from '../../engine/fleet-board.ts';
import { defineKind, graded } from '../types.ts';

export const FleetOutlierParamsSchema = z
  .strictObject({
    /** How slowly a device's level follows its readings (time constant): days, so a load swing is not an outlier. */
    smoothing: DurationSchema.prefault('1d'),
    /** A device is judged once it has this much history, and only against siblings with as much. */
    warmUp: DurationSchema.prefault('2d'),
    /** Fewer siblings than this (same model, same rule, fresh): no judgement. */
    minSiblings: z.number().int().min(2).max(1000).default(4),
    /** Siblings not heard from for this long are left out of the comparison. */
    staleAfter: DurationSchema.prefault('1d'),
    /** Limits on the distance from the siblings' median, in robust standard deviations. */
    warning: z.number().positive().default(4),
    critical: z.number().positive().default(8),
    /**
     * The siblings' spread is taken as at least this share of their median: ten identical fans agree
     * so closely that a 2 % difference would otherwise count as many deviations.
     */
    minSpread: z.number().min(0).max(1).default(0.05),
    /** `above`: only drifting up is a fault (vibration, temperature); `both`: either way. */
    direction: z.enum(['above', 'both']).default('above'),
  })
  .refine((p) => p.critical >= p.warning, { message: 'critical must be beyond warning', path: ['critical'] });
export type FleetOutlierParams = z.infer<typeof FleetOutlierParamsSchema>;

interface State {
  /** The device this instance is on (from its first reading), and its group on the fleet board. */
  id: string;
  key: string;
  /** Smoothed level, its last update and the first reading's time. */
  level: number;
  t: number;
  since: number;
  /** The last comparison: the siblings' median and spread, how many, and the score. */
  median: number;
  spread: number;
  n: number;
  score: number;
}

const median = (xs: number[]): number => {
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2;
};

const groupKey = (ruleId: string | undefined, model: string, metric: string) => `${ruleId ?? ''}\u0001${model}\u0001${metric}`;

/**
 * A device against its siblings: machines of the same model under the same rule should look alike. Each
 * device keeps a slowly smoothed level of the metric and publishes it to the engine's fleet board; it
 * is scored by its distance from the median of its siblings' levels, in robust deviations (MAD). A
 * per-device baseline learns a slow drift as normal; the siblings do not drift with it.
 */
export const fleetOutlier = defineKind<FleetOutlierParams, State>({
  kind: 'fleet-outlier',
  summary: 'a device drifting away from the other devices of its model',
  params: FleetOutlierParamsSchema,
  scope: 'metric',
  prepare(p, ctx) {
    if (ctx.model === undefined) return 'no model for this device in the ruleset (devices: - { id, model }): no siblings to compare with';
    return { dir: 1, warning: p.warning, critical: p.critical };
  },
  init: () => ({ id: '', key: '', level: NaN, t: NaN, since: NaN, median: NaN, spread: NaN, n: 0, score: NaN }),
  step(p, s, r, now, _frozen, env) {
    const q = p.params;
    if (Number.isNaN(s.level)) {
      s.id = r.deviceId;
      s.level = r.value;
      s.since = now;
    } else if (now > s.t) {
      // Time-weighted: irregular sampling smooths the same as regular.
      s.level += (1 - Math.exp(-(now - s.t) / q.smoothing)) * (r.value - s.level);
    }
    s.t = Math.max(s.t || now, now);
    s.score = NaN;
    if (!env || p.ctx.model === undefined) return graded(s, NaN, p.limits);
    s.key = groupKey(p.ctx.ruleId, p.ctx.model, r.metric);
    const group = env.fleet.group(s.key);
    const ready = now - s.since >= q.warmUp;
    // Only a device with enough history speaks for the fleet.
    if (ready) group.set(s.id, { level: s.level, at: now });
    else group.delete(s.id);
    const peers: number[] = [];
    for (const [id, e] of group) if (id !== s.id && now - e.at <= q.staleAfter) peers.push(e.level);
    s.n = peers.length;
    if (!ready || peers.length < q.minSiblings) return graded(s, NaN, p.limits);
    s.median = median(peers);
    const mad = median(peers.map((x) => Math.abs(x - s.median)));
    s.spread = Math.max(1.4826 * mad, q.minSpread * Math.abs(s.median), 1e-9);
    const z = (s.level - s.median) / s.spread;
    s.score = q.direction === 'both' ? Math.abs(z) : z;
    return graded(s, s.score, p.limits);
  },
  evidence(p, s, value, env) {
    return {
      value,
      level: round(s.level),
      model: p.ctx.model,
      fleetMedian: round(s.median),
      spread: round(s.spread),
      score: round(s.score),
      siblingCount: s.n,
      warning: p.limits.warning,
      critical: p.limits.critical,
      // The siblings it was compared with: the evidence that this machine, not the model, is the odd one.
      siblings: env && s.key ? siblingsOf(env.fleet.group(s.key), s.id) : [],
    };
  },
});

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);

/** The siblings a finding compares with, nearest to the median first (at most `max`), for the evidence. */
function siblingsOf(group: ReadonlyMap<string, FleetEntry>, self: string, max = 12): { deviceId: string; level: number }[] {
  return [...group]
    .filter(([id]) => id !== self)
    .map(([deviceId, e]) => ({ deviceId, level: Math.round(e.level * 1000) / 1000 }))
    .sort((a, b) => a.deviceId.localeCompare(b.deviceId))
    .slice(0, max);
}
