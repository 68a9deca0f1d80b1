// Population Stability Index on reference-quantile bins, and its categorical form.
import { MlRangeError } from './errors.js';
import { quantileSorted } from './quantile.js';
import { isSortedSample, lowerBound, toSorted } from './sort.js';
import type { SortedSample } from './sort.js';
import { assertArrayLike, assertFinite, assertInt, assertOption } from './validate.js';

/** Options of {@link psi}. */
export interface PsiOptions {
  /** Number of reference-quantile bins before merging duplicate edges; default 10. */
  bins?: number;
  /** Share substituted for an empty bin (in either sample) so the log stays finite; default 1e-4. */
  epsilon?: number;
}

/** Result of {@link psi}. */
export interface PsiResult {
  /** PSI = Σ (cur - ref) · ln(cur / ref) over bins, with empty shares replaced by epsilon. */
  value: number;
  /**
   * Interior cut points, ascending and distinct. Bins are right-closed: bin 0 is
   * (-∞, edges[0]], bin k is (edges[k-1], edges[k]], the last is (edges[last], +∞).
   * There are edges.length + 1 bins.
   */
  edges: number[];
  /** Observed share of the reference in each bin (before epsilon smoothing). */
  referenceShares: number[];
  /** Observed share of the current sample in each bin (before epsilon smoothing). */
  currentShares: number[];
}

function nextDown(x: number): number {
  const buf = new Float64Array([x]);
  const bits = new BigInt64Array(buf.buffer);
  if (x === 0) return -Number.MIN_VALUE;
  bits[0] += x > 0 ? -1n : 1n;
  return buf[0];
}

/**
 * Cut points of reference-quantile bins: the distinct numpy-linear quantiles at k/bins,
 * k = 1..bins-1. A constant reference c gets cuts [c⁻, c] (c⁻ the next double below c) so
 * current values below, at and above c land in three different bins.
 */
export function quantileEdges(sortedRef: Float64Array, bins: number): number[] {
  const cuts: number[] = [];
  const step = 1 / bins;
  for (let k = 1; k < bins; k++) {
    const q = quantileSorted(sortedRef, k * step);
    if (cuts.length === 0 || q > cuts[cuts.length - 1]) cuts.push(q);
  }
  const lo = sortedRef[0];
  const hi = sortedRef[sortedRef.length - 1];
  if (lo === hi) return [nextDown(lo), lo];
  if (cuts.length === 0) cuts.push(quantileSorted(sortedRef, 0.5));
  return cuts;
}

function countSorted(sorted: Float64Array, edges: number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let prev = 0;
  for (let k = 0; k < edges.length; k++) {
    // Values <= edge: right-closed bins.
    const upto = upperBoundFrom(sorted, edges[k], prev);
    counts[k] = upto - prev;
    prev = upto;
  }
  counts[edges.length] = sorted.length - prev;
  return counts;
}

function upperBoundFrom(a: Float64Array, v: number, lo: number): number {
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countUnsorted(x: ArrayLike<number>, edges: number[]): Float64Array {
  const e = Float64Array.from(edges);
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < x.length; i++) counts[lowerBound(e, x[i])]++;
  return counts;
}

/** PSI of two share vectors, replacing zero shares by epsilon. */
export function psiFromShares(ref: ArrayLike<number>, cur: ArrayLike<number>, epsilon: number): number {
  let v = 0;
  for (let k = 0; k < ref.length; k++) {
    const r = ref[k] === 0 ? epsilon : ref[k];
    const c = cur[k] === 0 ? epsilon : cur[k];
    v += (c - r) * Math.log(c / r);
  }
  return v;
}

/**
 * Population Stability Index of `current` against `reference` on reference-quantile bins.
 * Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 * @param reference - reference sample (or a {@link SortedSample}); defines the bins.
 * @param current - current sample (or a SortedSample); unsorted input is binned without sorting.
 * @param opts.bins - quantile bins, default 10 (fewer after merging tied quantiles).
 * @param opts.epsilon - share used for empty bins, default 1e-4 (Evidently's choice).
 * @throws MlRangeError on empty samples, NaN/infinite values, bins < 1, epsilon not in (0, 1).
 */
export function psi(reference: ArrayLike<number> | SortedSample, current: ArrayLike<number> | SortedSample, opts: PsiOptions = {}): PsiResult {
  const bins = opts.bins ?? 10;
  const epsilon = opts.epsilon ?? 1e-4;
  assertInt(bins, 1, 'psi', 'bins');
  assertOption(epsilon, (e) => e > 0 && e < 1, 'psi', 'epsilon', 'a number in (0, 1)');
  const ref = toSorted(reference, 'psi', 'reference');
  let curCounts: Float64Array;
  let nCur: number;
  const edges = quantileEdges(ref, bins);
  if (isSortedSample(current)) {
    curCounts = countSorted(current.values, edges);
    nCur = current.values.length;
  } else {
    nCur = assertFinite(current, 'psi', 'current');
    curCounts = countUnsorted(current, edges);
  }
  const refCounts = countSorted(ref, edges);
  const referenceShares = Array.from(refCounts, (c) => c / ref.length);
  const currentShares = Array.from(curCounts, (c) => c / nCur);
  return { value: psiFromShares(referenceShares, currentShares, epsilon), edges, referenceShares, currentShares };
}

/** Result of {@link psiCategorical}. */
export interface CategoricalPsiResult {
  /** PSI over categories, empty shares replaced by epsilon. */
  value: number;
  /** Categories in order of first appearance (reference first, then new ones in current). */
  categories: Array<string | number>;
  referenceShares: number[];
  currentShares: number[];
}

/** Category counts of two samples over the union of their categories (first-seen order). */
export function categoryCounts(
  reference: ArrayLike<string | number>,
  current: ArrayLike<string | number>,
  fn: string,
): { categories: Array<string | number>; ref: Float64Array; cur: Float64Array } {
  assertArrayLike(reference, fn, 'reference');
  assertArrayLike(current, fn, 'current');
  if (reference.length === 0) throw new MlRangeError(`${fn}: reference is empty`);
  if (current.length === 0) throw new MlRangeError(`${fn}: current is empty`);
  const index = new Map<string | number, number>();
  const categories: Array<string | number> = [];
  const refC: number[] = [];
  const curC: number[] = [];
  const add = (x: ArrayLike<string | number>, name: string, into: number[], other: number[]): void => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (typeof v === 'number' ? Number.isNaN(v) : typeof v !== 'string') {
        throw new MlRangeError(`${fn}: ${name}[${i}] is ${typeof v === 'number' ? 'NaN' : String(v)}, expected a string or number category`);
      }
      let k = index.get(v);
      if (k === undefined) {
        k = categories.length;
        index.set(v, k);
        categories.push(v);
        into.push(0);
        other.push(0);
      }
      into[k]++;
    }
  };
  add(reference, 'reference', refC, curC);
  add(current, 'current', curC, refC);
  return { categories, ref: Float64Array.from(refC), cur: Float64Array.from(curC) };
}

/**
 * PSI for a categorical column: one bin per category seen in either sample.
 * @param opts.epsilon - share used for a category absent from one sample, default 1e-4.
 * @throws MlRangeError on empty samples or NaN/null categories.
 */
export function psiCategorical(
  reference: ArrayLike<string | number>,
  current: ArrayLike<string | number>,
  opts: { epsilon?: number } = {},
): CategoricalPsiResult {
  const epsilon = opts.epsilon ?? 1e-4;
  assertOption(epsilon, (e) => e > 0 && e < 1, 'psiCategorical', 'epsilon', 'a number in (0, 1)');
  const { categories, ref, cur } = categoryCounts(reference, current, 'psiCategorical');
  const referenceShares = Array.from(ref, (c) => c / reference.length);
  const currentShares = Array.from(cur, (c) => c / current.length);
  return { value: psiFromShares(referenceShares, currentShares, epsilon), categories, referenceShares, currentShares };
}
