export { webhook } from './plugin.ts';
export { postEvent, encodeWebhook, type WebhookFormat } from './send.ts';
