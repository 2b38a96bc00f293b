import type { DeliveryOutcome } from '../../../core/index.ts';
import { postOnce } from '../http.ts';
import { SIGNATURE_HEADER, sign } from '../../webhooks/signature.ts';
import type { OutgoingEvent } from '../types.ts';

export type WebhookFormat = 'vigil' | 'cloudevents';

export interface PostOptions {
  url: string;
  /** Signs the body (HMAC-SHA256, `vigil-signature`); without one nothing is signed. */
  secret: string | undefined;
  format: WebhookFormat;
  timeoutMs: number;
  now: () => number;
}

/**
 * The body as sent: the event itself (`vigil`, the wire format of every release), or a CloudEvents 1.0
 * structured-mode envelope around it (`cloudevents`), which generic event routers accept as it is.
 */
export function encodeWebhook(format: WebhookFormat, ev: OutgoingEvent): { body: string; contentType: string } {
  if (format === 'vigil') return { body: ev.body, contentType: 'application/json' };
  const e = ev.event;
  const cloudEvent = {
    specversion: '1.0',
    id: ev.idempotencyKey,
    source: 'urn:vigil:tickets',
    type: `io.vigil.${e.type}`,
    time: e.at,
    subject: e.type === 'kpi.below_target' ? `kpi/${e.detail.groupBy}/${e.detail.group}/${e.detail.kpi}` : e.type === 'report.faults' ? `reports/faults/${e.detail.period}` : `tickets/${e.ticket.id}`,
    datacontenttype: 'application/json',
    data: e,
  };
  return { body: JSON.stringify(cloudEvent), contentType: 'application/cloudevents+json; charset=utf-8' };
}

/** POSTs one event, signed when there is a secret. */
export async function postEvent(o: PostOptions, ev: OutgoingEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
  const { body, contentType } = encodeWebhook(o.format, ev);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': 'vigil-webhooks/1',
    'vigil-event': ev.event.type,
    'vigil-delivery': String(ev.deliveryId),
    'idempotency-key': ev.idempotencyKey,
  };
  if (o.secret) headers[SIGNATURE_HEADER] = sign(o.secret, body, o.now());
  return postOnce(o.url, { headers, body }, { timeoutMs: o.timeoutMs, signal, now: o.now });
}
