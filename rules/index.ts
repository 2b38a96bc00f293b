export * from './kinds/types.ts';
export { KINDS, kindOf } from './kinds/registry.ts';
export * from './engine/alert.ts';
export * from './engine/engine.ts';
export * from './engine/state-codec.ts';
export * from './rulesets/schema.ts';
export * from './rulesets/compile.ts';
export * from './rulesets/zones.ts';
