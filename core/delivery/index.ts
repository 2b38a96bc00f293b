export { AUTH_RETRY_MS, type DeliveryOutcome, type DeliveryOutcomeKind, classifyHttp, parseRetryAfter } from './outcome.ts';
export { deliveryAttempts, deliveryQueue } from './metrics.ts';
export { DeliveryQueue, DELIVERY_MIGRATIONS, type Queued, type QueuedStatus } from './queue.ts';
export { Dispatcher, DispatchConfigSchema, type DispatchConfig, type DispatcherDeps, type Route } from './dispatcher.ts';
export { decide, type Decision, type RetryPolicy } from './policy.ts';
export { deadline } from './deadline.ts';
