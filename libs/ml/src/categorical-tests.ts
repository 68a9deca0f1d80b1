// Tests for categorical drift: chi-square test of homogeneity and the two-proportion z-test.
import { MlRangeError } from './errors.js';
import { categoryCounts } from './psi.js';
import { chiSquareSf, normalSf } from './special/gamma.js';

/** Result of {@link chiSquareHomogeneity}. */
export interface ChiSquareResult {
  /** Pearson chi-square statistic of the 2 x k contingency table. */
  statistic: number;
  pValue: number;
  /** Degrees of freedom, k - 1 (0 when only one category occurs: statistic 0, p 1). */
  df: number;
  /** Categories, reference order first. */
  categories: Array<string | number>;
}

/**
 * Chi-square test of homogeneity between the category distributions of two samples, on the
 * 2 x k table of counts (scipy `chi2_contingency`). Like scipy's default, Yates' continuity
 * correction is applied when df = 1 unless `correction: false`.
 * @param opts.correction - Yates correction for 2 x 2 tables, default true.
 * @throws MlRangeError on empty samples or NaN/null categories.
 */
export function chiSquareHomogeneity(
  reference: ArrayLike<string | number>,
  current: ArrayLike<string | number>,
  opts: { correction?: boolean } = {},
): ChiSquareResult {
  const { categories, ref, cur } = categoryCounts(reference, current, 'chiSquareHomogeneity');
  return { ...chiSquareFromCounts(ref, cur, opts.correction ?? true), categories };
}

/** Chi-square homogeneity test from two count vectors over the same categories. */
export function chiSquareFromCounts(ref: ArrayLike<number>, cur: ArrayLike<number>, correction = true): Omit<ChiSquareResult, 'categories'> {
  if (ref.length !== cur.length) throw new MlRangeError('chiSquareFromCounts: ref and cur must have the same number of categories');
  let n1 = 0;
  let n2 = 0;
  let k = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!(ref[i] >= 0) || !(cur[i] >= 0) || !Number.isFinite(ref[i] + cur[i])) {
      throw new MlRangeError(`chiSquareFromCounts: count at category ${i} is not a finite non-negative number`);
    }
    n1 += ref[i];
    n2 += cur[i];
    if (ref[i] + cur[i] > 0) k++;
  }
  if (n1 === 0 || n2 === 0) throw new MlRangeError('chiSquareFromCounts: a sample has zero total count');
  const df = k - 1;
  if (df <= 0) return { statistic: 0, pValue: 1, df: 0 };
  const n = n1 + n2;
  let stat = 0;
  for (let i = 0; i < ref.length; i++) {
    const col = ref[i] + cur[i];
    if (col === 0) continue;
    for (const [obs, rowTotal] of [
      [ref[i], n1],
      [cur[i], n2],
    ]) {
      const exp = (rowTotal * col) / n;
      let d = obs - exp;
      // scipy's Yates: shrink |O - E| by 0.5 but never past 0.
      if (correction && df === 1) d -= Math.sign(d) * Math.min(0.5, Math.abs(d));
      stat += (d * d) / exp;
    }
  }
  return { statistic: stat, pValue: chiSquareSf(stat, df), df };
}

/** Result of {@link proportionZTest}. */
export interface ZTestResult {
  /** z = (p_cur - p_ref) / sqrt(p(1-p)(1/n_ref + 1/n_cur)) with the pooled p. */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
}

/**
 * Two-proportion z-test (pooled variance, two-sided) for a binary column: compares the share
 * of `positive` in the two samples (Evidently's "z" test for binary categorical columns).
 * Identical all-or-nothing shares give z = 0, p = 1.
 * @param positive - the category counted as success; default: the first category seen.
 */
export function proportionZTest(
  reference: ArrayLike<string | number>,
  current: ArrayLike<string | number>,
  positive?: string | number,
): ZTestResult {
  const { categories, ref, cur } = categoryCounts(reference, current, 'proportionZTest');
  if (categories.length > 2) throw new MlRangeError(`proportionZTest: expected at most 2 categories, got ${categories.length}`);
  const k = positive === undefined ? 0 : categories.indexOf(positive);
  const x1 = k < 0 ? 0 : ref[k];
  const x2 = k < 0 ? 0 : cur[k];
  const n1 = reference.length;
  const n2 = current.length;
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pValue: 1 };
  const z = (x2 / n2 - x1 / n1) / se;
  return { statistic: z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}
