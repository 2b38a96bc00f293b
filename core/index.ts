export * from './model/index.ts';
export * from './runtime/index.ts';
