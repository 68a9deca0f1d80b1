// How much slower one lane's tail is than another's, with a confidence interval. A p99 of a few
// thousand calls moves by tens of percent between runs on a busy machine (one GC pause or one
// scheduler hiccup lands in one lane's slice), so a single ratio cannot tell an overhead from luck.
// The interval comes from a block bootstrap over the client's slices: each lane's slices are
// resampled with replacement (a slice keeps its calls together, so a pause stays one event), the
// quantile recomputed, and the ratio's 2.5th and 97.5th percentiles reported.
import { createRng, randomInt } from '@refit/ml';
import type { Measured } from './serve-client.js';

/** A ratio of two lanes' latency quantiles and its 95 % bootstrap interval. */
export type TailRatio = { q: number; ratio: number; ci95: [number, number]; resamples: number };

const quantile = (sorted: Float64Array, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];

function slicesOf(s: Measured['samples']): Float64Array[] {
  const out: Float64Array[] = [];
  let from = 0;
  for (const end of s.sliceEnds) {
    out.push(Float64Array.from(s.ms.slice(from, end)));
    from = end;
  }
  return out.filter((x) => x.length > 0);
}

function resampledQuantile(slices: Float64Array[], q: number, rng: () => number): number {
  const all = new Float64Array(slices.length * Math.max(...slices.map((s) => s.length)));
  let n = 0;
  for (let k = 0; k < slices.length; k++) {
    const s = slices[randomInt(rng, slices.length)];
    all.set(s, n);
    n += s.length;
  }
  return quantile(all.subarray(0, n).sort(), q);
}

/**
 * The `q`th-percentile latency of lane `a` over lane `b` (above 1: `a` is slower), with a 95 %
 * interval from `resamples` block-bootstrap draws (seeded: the same samples give the same interval).
 */
export function tailRatio(a: Measured['samples'], b: Measured['samples'], opts: { q?: number; resamples?: number; seed?: number } = {}): TailRatio {
  const q = opts.q ?? 99;
  const resamples = opts.resamples ?? 400;
  const rng = createRng(opts.seed ?? 1);
  const sa = slicesOf(a);
  const sb = slicesOf(b);
  const ratio = quantile(Float64Array.from(a.ms).sort(), q) / quantile(Float64Array.from(b.ms).sort(), q);
  const draws: number[] = [];
  for (let i = 0; i < resamples; i++) draws.push(resampledQuantile(sa, q, rng) / resampledQuantile(sb, q, rng));
  draws.sort((x, y) => x - y);
  const at = (p: number) => draws[Math.min(draws.length - 1, Math.floor(p * draws.length))];
  return { q, ratio, ci95: [at(0.025), at(0.975)], resamples };
}

/** `×1.04 (95 % CI ×0.91–×1.19)`. */
export const formatRatio = (r: TailRatio): string => `×${r.ratio.toFixed(2)} (95 % CI ×${r.ci95[0].toFixed(2)}–×${r.ci95[1].toFixed(2)})`;
