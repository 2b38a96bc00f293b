import { baseline } from './baseline/index.ts';
import { compound } from './compound/index.ts';
import { cusum } from './cusum/index.ts';
import { flatline } from './flatline/index.ts';
import { fleetOutlier } from './fleet-outlier/index.ts';
import { healthIndex } from './health-index/index.ts';
import { registerKinds } from './lookup.ts';
import { rate } from './rate/index.ts';
import { silence } from './silence/index.ts';
import { threshold } from './threshold/index.ts';
import { trend } from './trend/index.ts';
import type { AnyKind } from './types.ts';

/** Every rule kind, explicitly: a ruleset names them by `kind`. */
export const KINDS: readonly AnyKind[] = [threshold, baseline, cusum, healthIndex, trend, rate, flatline, silence, compound, fleetOutlier];
registerKinds(KINDS);

export { kindOf } from './lookup.ts';
