import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { defineDestination } from '../types.ts';
import { postEvent } from './send.ts';

export const WebhookDestinationConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2000),
  /** Signs every body (`vigil-signature`); from the environment: `${DESK_WEBHOOK_SECRET}`. */
  secret: z.string().min(16).optional(),
  /** `vigil`: the event as the API's webhooks send it; `cloudevents`: wrapped as a CloudEvents 1.0 structured event. */
  format: z.enum(['vigil', 'cloudevents']).default('vigil'),
  timeout: DurationSchema.prefault('10s'),
});

/** The ticket webhook, configured in the file instead of through the API. */
export const webhook = defineDestination({
  kind: 'webhook',
  summary: 'HTTP POST of each event, signed; Vigil\'s own body or CloudEvents 1.0',
  config: WebhookDestinationConfigSchema,
  create: (c, deps) => ({
    label: `webhook receiver ${new URL(c.url).host}`,
    authHint: "check the destination's URL and the receiver's credentials",
    send: (ev, signal) => postEvent({ url: c.url, secret: c.secret, format: c.format, timeoutMs: c.timeout, now: () => deps.clock.now() }, ev, signal),
  }),
});
