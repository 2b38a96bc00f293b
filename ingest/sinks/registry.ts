import { z } from 'zod';
import { influxdb } from './influxdb/index.ts';
import { prometheusRemoteWrite } from './prometheus-remote-write/index.ts';
import type { SinkPlugin } from './types.ts';

/** Every sink kind, explicitly: `sinks: [{ kind: … }]` in the server config names them. */
export const SINKS: readonly SinkPlugin[] = [influxdb, prometheusRemoteWrite] as unknown as SinkPlugin[];

export function sinkOf(kind: string): SinkPlugin | undefined {
  return SINKS.find((s) => s.kind === kind);
}

/** One entry of `sinks:`: a kind and that kind's own settings, checked by the kind's schema. */
export const SinkEntrySchema = z.union(SINKS.map((s) => s.config.extend({ kind: z.literal(s.kind) })) as unknown as [z.ZodObject<z.ZodRawShape>, ...z.ZodObject<z.ZodRawShape>[]]) as unknown as z.ZodType<{ kind: string } & Record<string, unknown>>;
export type SinkEntry = z.infer<typeof SinkEntrySchema>;
