export * from './metrics.ts';
export * from './ids.ts';
export * from './reading.ts';
export * from './envelope.ts';
export * from './topics.ts';
export * from './finding.ts';
export * from './ticket.ts';
