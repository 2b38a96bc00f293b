export { TicketManager, TicketsConfigSchema, type TicketsConfig, type ActionInput, type ActResult, RULE_ENGINE, SLA_CLOCK } from './manager.ts';
export { registerTicketsApi, ActionBodies, InboundSchema } from './api.ts';
export { TicketPolicySchema, type TicketPolicy, assetOf, priorityOf, slaOf, dispatchGroupOf, escalate } from './policy.ts';
export { KNOWLEDGE_BASE, adviceFor } from './knowledge.ts';
export { TRANSITIONS, step, type Action } from './lifecycle.ts';
export { TicketStore, type RuleStats } from './store.ts';
export { WebhookOutbox, type Subscription, type Delivery } from './webhooks/outbox.ts';
export { WebhookDispatcher, WebhookConfigSchema, idempotencyKey } from './webhooks/dispatcher.ts';
export { sign, verify, SIGNATURE_HEADER } from './webhooks/signature.ts';
