export * from './types.ts';
export { MemoryOutbox } from './memory-outbox.ts';
export { SqliteOutbox } from './sqlite-outbox.ts';
