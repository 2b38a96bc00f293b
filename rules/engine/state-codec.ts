// JSON has no NaN or Infinity, and rule state uses both (NaN: "not yet", Infinity: "never").
// They travel as tagged strings so a restored state is the state that was saved.
const NAN = '\u0000NaN';
const INF = '\u0000Inf';
const NINF = '\u0000-Inf';

export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? NAN : v > 0 ? INF : NINF) : v));
}

export function decodeState(json: string): unknown {
  return JSON.parse(json, (_k, v: unknown) => (v === NAN ? NaN : v === INF ? Infinity : v === NINF ? -Infinity : v));
}
