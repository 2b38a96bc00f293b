/**
 * Deterministic noise as a pure function of (seed, stream, index): the value at a given sample time is
 * the same however the simulation got there, so a run is reproducible at any speed and any step.
 */
function mix32(x: number): number {
  // The finaliser of MurmurHash3 (fmix32): a cheap, well-distributed 32-bit mix.
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export function uniform(seed: number, stream: number, index: number): number {
  const h = mix32(mix32(mix32(seed | 0) ^ Math.imul(stream + 1, 0x9e3779b9)) ^ (index | 0) ^ mix32(Math.floor(index / 4294967296)));
  return (h + 0.5) / 4294967296;
}

/** Standard normal by Box-Muller over two independent uniforms. */
export function gaussian(seed: number, stream: number, index: number): number {
  const u1 = uniform(seed, stream * 2, index);
  const u2 = uniform(seed, stream * 2 + 1, index);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
