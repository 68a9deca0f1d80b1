// Distribution distances used for drift on large samples.
import { MlRangeError } from './errors.js';
import { categoryCounts, quantileEdges } from './psi.js';
import { toSorted, upperBound } from './sort.js';
import type { SortedSample } from './sort.js';
import { assertInt } from './validate.js';

/**
 * Jensen-Shannon distance between two discrete distributions (scipy
 * `spatial.distance.jensenshannon`): sqrt of the JS divergence; inputs are normalised to sum 1.
 * @param base - logarithm base, default e (the distance is then at most sqrt(ln 2) ≈ 0.8326).
 * @throws MlRangeError on negative/non-finite weights, an all-zero vector or a length mismatch.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base = Math.E): number {
  if (p.length !== q.length) throw new MlRangeError(`jensenShannonDistance: p has length ${p.length} but q has length ${q.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0) || !Number.isFinite(p[i])) throw new MlRangeError(`jensenShannonDistance: p[${i}] is ${p[i]}, expected a finite weight >= 0`);
    if (!(q[i] >= 0) || !Number.isFinite(q[i])) throw new MlRangeError(`jensenShannonDistance: q[${i}] is ${q[i]}, expected a finite weight >= 0`);
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0 || sq === 0) throw new MlRangeError('jensenShannonDistance: a distribution sums to 0');
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / m);
    if (b > 0) js += b * Math.log(b / m);
  }
  // Rounding can make a zero divergence slightly negative.
  return Math.sqrt(Math.max(0, js / 2 / Math.log(base)));
}

/**
 * Jensen-Shannon distance between two numeric samples, binned on reference-quantile bins (the
 * same bins as `psi`). Natural log.
 * @param opts.bins - quantile bins, default 10.
 */
export function jensenShannonNumeric(
  reference: ArrayLike<number> | SortedSample,
  current: ArrayLike<number> | SortedSample,
  opts: { bins?: number } = {},
): number {
  const bins = opts.bins ?? 10;
  assertInt(bins, 1, 'jensenShannonNumeric', 'bins');
  const ref = toSorted(reference, 'jensenShannonNumeric', 'reference');
  const cur = toSorted(current, 'jensenShannonNumeric', 'current');
  const edges = quantileEdges(ref, bins);
  const count = (s: Float64Array): Float64Array => {
    const c = new Float64Array(edges.length + 1);
    let prev = 0;
    for (let k = 0; k < edges.length; k++) {
      const upto = upperBound(s, edges[k]);
      c[k] = upto - prev;
      prev = upto;
    }
    c[edges.length] = s.length - prev;
    return c;
  };
  return jensenShannonDistance(count(ref), count(cur));
}

/** Jensen-Shannon distance between the category distributions of two samples (natural log). */
export function jensenShannonCategorical(reference: ArrayLike<string | number>, current: ArrayLike<string | number>): number {
  const { ref, cur } = categoryCounts(reference, current, 'jensenShannonCategorical');
  return jensenShannonDistance(ref, cur);
}

/**
 * Wasserstein-1 (earth mover's) distance between two samples: ∫ |F_a - F_b| (scipy
 * `stats.wasserstein_distance`, unweighted).
 */
export function wasserstein(a: ArrayLike<number> | SortedSample, b: ArrayLike<number> | SortedSample): number {
  const x = toSorted(a, 'wasserstein', 'a');
  const y = toSorted(b, 'wasserstein', 'b');
  return wassersteinSorted(x, y);
}

/** Wasserstein-1 distance of two ascending samples. */
export function wassersteinSorted(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let prev = Math.min(x[0], y[0]);
  let total = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && x[i] <= y[j]) ? x[i] : y[j];
    // The ECDF difference is constant on [prev, v).
    total += Math.abs(i / n - j / m) * (v - prev);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    prev = v;
  }
  return total;
}

/**
 * Wasserstein-1 distance divided by the reference's population standard deviation, floored at
 * 0.001 as Evidently does (so a constant reference does not divide by 0). Scale-free: Evidently
 * flags drift at >= 0.1.
 */
export function wassersteinNormalized(reference: ArrayLike<number> | SortedSample, current: ArrayLike<number> | SortedSample): number {
  const x = toSorted(reference, 'wassersteinNormalized', 'reference');
  const y = toSorted(current, 'wassersteinNormalized', 'current');
  return wassersteinSorted(x, y) / Math.max(populationStd(x), 0.001);
}

/** Population standard deviation (ddof = 0), two-pass for accuracy. */
export function populationStd(x: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - mean) ** 2;
  return Math.sqrt(s / x.length);
}
