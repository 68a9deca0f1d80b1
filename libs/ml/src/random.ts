/**
 * Creates a seeded pseudo-random generator (mulberry32) returning floats in [0, 1).
 * Same seed, same sequence, on every platform: use it for bootstraps, shuffles and splits
 * that must be reproducible. Not cryptographic. The seed is truncated to 32 bits.
 *
 * @param seed - any finite number; only its low 32 bits matter.
 * @returns a function producing the next uniform float in [0, 1) (32 bits of resolution).
 */
export function createRng(seed: number): () => number {
  let s = (Number.isFinite(seed) ? Math.trunc(seed) : 0) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Alias of {@link createRng} under its algorithm's name. */
export const mulberry32 = createRng;

/**
 * Uniform integer in [0, n) from a generator made by {@link createRng}.
 * @param rng - the generator.
 * @param n - exclusive upper bound, a positive integer below 2^32.
 */
export function randomInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/**
 * Creates a seeded sampler of bootstrap weights: each call fills `counts` with how many times
 * each of its `counts.length` rows is drawn when drawing that many rows with replacement
 * (a multinomial resample). Uses the mulberry32 stream of {@link createRng}(seed), inlined
 * because the draws dominate the cost of a bootstrap.
 * @param seed - any finite number; only its low 32 bits matter.
 */
export function createResampler(seed: number): (counts: Uint32Array) => void {
  let s = (Number.isFinite(seed) ? Math.trunc(seed) : 0) >>> 0;
  return (counts) => {
    const n = counts.length;
    counts.fill(0);
    let st = s;
    for (let k = 0; k < n; k++) {
      st = (st + 0x6d2b79f5) >>> 0;
      let t = st;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      // u32 * n is an exact integer in doubles for n < 2^21; beyond that rounding bias is < 2^-32.
      counts[Math.floor((((t ^ (t >>> 14)) >>> 0) * n) / 4294967296)]++;
    }
    s = st;
  };
}
