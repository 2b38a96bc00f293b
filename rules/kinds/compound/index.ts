import { z } from 'zod';
import { DurationSchema, MetricIdSchema, type Reading } from '../../../core/index.ts';
import { kindOf } from '../lookup.ts';
import { type AnyKind, type Level, type Prepared, defineKind, limits as makeLimits } from '../types.ts';

const ConditionSchema = z.strictObject({
  kind: z.string(),
  metric: MetricIdSchema,
  params: z.record(z.string(), z.unknown()).default({}),
});

export const CompoundParamsSchema = z
  .strictObject({
    /** `all`: every condition at once (vibration and temperature together); `any`: one is enough. */
    mode: z.enum(['all', 'any']).default('all'),
    /** A condition counts as present for this long after the reading that showed it. */
    within: DurationSchema.prefault('15m'),
    of: z.array(ConditionSchema).min(2).max(8),
  })
  .superRefine((p, ctx) => {
    p.of.forEach((c, i) => {
      const k = kindOf(c.kind);
      if (!k || k.scope !== 'metric') {
        ctx.addIssue({ code: 'custom', path: ['of', i, 'kind'], message: `a condition is one of the per-metric kinds, not ${JSON.stringify(c.kind)}` });
        return;
      }
      const r = k.params.safeParse(c.params);
      if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: ['of', i, 'params', ...issue.path.map(String)], message: issue.message });
    });
  });
type CompoundInput = z.infer<typeof CompoundParamsSchema>;
export type CompoundParams = CompoundInput & { prepared?: { kind: AnyKind; metric: string; p: Prepared<unknown> }[] };

export interface CompoundState {
  /** Per condition: its own state, last level and hold, and the sample time they were judged at. */
  c: unknown[];
  lv: Level[];
  hd: Level[];
  at: number[];
}

/** Combines per-metric conditions on one device, each graded by its own limits. */
export const compound = defineKind<CompoundParams, CompoundState>({
  kind: 'compound',
  summary: 'all or any of several conditions, across metrics of one device',
  params: CompoundParamsSchema as z.ZodType<CompoundParams>,
  scope: 'device',
  metrics: (p) => p.of.map((c) => c.metric),
  resolve(p, ctx) {
    const prepared: NonNullable<CompoundParams['prepared']> = [];
    for (const c of p.of) {
      const kind = kindOf(c.kind)!;
      let params = kind.params.parse(c.params);
      params = kind.resolve?.(params, ctx) ?? params;
      const raw = kind.prepare(params, ctx);
      if (typeof raw === 'string') return p;
      prepared.push({ kind, metric: c.metric, p: { params, ctx, limits: makeLimits(raw.dir, raw.warning, raw.critical, ctx.hysteresis) } });
    }
    return { ...p, prepared };
  },
  prepare: (p) => (p.prepared ? { dir: 1, warning: 1, critical: 2 } : 'a condition does not apply to this device'),
  init: (p) => ({
    c: p.params.prepared!.map((x) => x.kind.init(x.p)),
    lv: p.params.prepared!.map(() => 0),
    hd: p.params.prepared!.map(() => 0),
    at: p.params.prepared!.map(() => NaN),
  }),
  step({ params: p }, s, r: Reading, now, frozen) {
    const conds = p.prepared!;
    let next = s;
    for (let i = 0; i < conds.length; i++) {
      const x = conds[i]!;
      if (x.metric !== r.metric) continue;
      const step = x.kind.step(x.p, s.c[i], r, now, frozen);
      if (next === s) next = { c: [...s.c], lv: [...s.lv], hd: [...s.hd], at: [...s.at] };
      next.c[i] = step.state;
      next.lv[i] = step.level;
      next.hd[i] = step.hold;
      next.at[i] = now;
    }
    let level = p.mode === 'all' ? 2 : 0;
    let hold = level;
    for (let i = 0; i < conds.length; i++) {
      const fresh = now - next.at[i]! <= p.within;
      const lv = fresh ? next.lv[i]! : 0;
      const hd = fresh ? next.hd[i]! : 0;
      level = p.mode === 'all' ? Math.min(level, lv) : Math.max(level, lv);
      hold = p.mode === 'all' ? Math.min(hold, hd) : Math.max(hold, hd);
    }
    return { state: next, level: level as Level, hold: Math.max(level, hold) as Level };
  },
  evidence({ params: p }, s) {
    return {
      mode: p.mode,
      conditions: p.prepared!.map((x, i) => ({ kind: x.kind.kind, metric: x.metric, level: s.lv[i], ...x.kind.evidence(x.p, s.c[i], undefined) })),
    };
  },
});
