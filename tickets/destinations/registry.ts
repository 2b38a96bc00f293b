import { z } from 'zod';
import { chat } from './chat/index.ts';
import { email } from './email/index.ts';
import { EventFilterShape } from './filter.ts';
import type { DestinationPlugin } from './types.ts';
import { webhook } from './webhook/index.ts';

/** Every ticket destination kind, explicitly: `tickets.destinations: [{ kind: … }]` names them. */
export const DESTINATIONS: readonly DestinationPlugin[] = [webhook, email, chat] as unknown as DestinationPlugin[];

export function destinationOf(kind: string): DestinationPlugin | undefined {
  return DESTINATIONS.find((d) => d.kind === kind);
}

/** Names a destination in logs, metrics' targets and the deliveries list: `desk-mail`. */
export const DestinationNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** One entry of `tickets.destinations:`: a kind, a name, which events, and that kind's own settings. */
export const DestinationEntrySchema = z.union(
  DESTINATIONS.map((d) => d.config.extend({ kind: z.literal(d.kind), name: DestinationNameSchema, ...EventFilterShape })) as unknown as [z.ZodObject<z.ZodRawShape>, ...z.ZodObject<z.ZodRawShape>[]],
) as unknown as z.ZodType<{ kind: string; name: string; events: string[]; priorities?: string[]; sites?: string[] } & Record<string, unknown>>;
export type DestinationEntry = z.infer<typeof DestinationEntrySchema>;
