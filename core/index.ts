export * from './model/index.ts';
export * from './runtime/index.ts';
export * from './delivery/index.ts';
export * from './store/index.ts';
