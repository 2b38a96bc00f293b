export { AUTH_RETRY_MS, type DeliveryOutcome, type DeliveryOutcomeKind, classifyHttp, parseRetryAfter } from './outcome.ts';
export { deliveryAttempts, deliveryQueue } from './metrics.ts';
