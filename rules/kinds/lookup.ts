import type { AnyKind } from './types.ts';

// Filled by the registry. Kept apart from it so that compound, which looks up the kinds of its
// conditions, does not import the registry that imports compound.
const kinds = new Map<string, AnyKind>();

export function registerKinds(list: readonly AnyKind[]): void {
  for (const k of list) kinds.set(k.kind, k);
}

export function kindOf(name: string): AnyKind | undefined {
  return kinds.get(name);
}
