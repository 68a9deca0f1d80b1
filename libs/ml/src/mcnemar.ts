// McNemar's test for two classifiers evaluated on the same rows.
import { MlRangeError } from './errors.js';
import { binomialCdf } from './special/binomial.js';
import { chiSquareSf } from './special/gamma.js';
import { assertBinaryLabels, assertInt, assertSameLength } from './validate.js';

/** Result of {@link mcnemar}. */
export interface McNemarResult {
  /** Rows where A is right and B is wrong. */
  onlyACorrect: number;
  /** Rows where B is right and A is wrong. */
  onlyBCorrect: number;
  /** Exact: min(b, c); chi-square: (|b - c| - 1)^2 / (b + c). */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  method: 'exact' | 'chi-square';
}

/**
 * McNemar's test from the discordant counts b (only A correct) and c (only B correct).
 * Exact two-sided binomial test min(1, 2·P(X <= min(b, c))), X ~ Bin(b + c, 1/2), when
 * b + c < exactBelow; otherwise the continuity-corrected chi-square (|b - c| - 1)² / (b + c)
 * with 1 df — the formulas of statsmodels `mcnemar` and R `mcnemar.test`.
 * @param opts.exactBelow - use the exact test when b + c is below this; default 25.
 */
export function mcnemarFromCounts(b: number, c: number, opts: { exactBelow?: number } = {}): McNemarResult {
  assertInt(b, 0, 'mcnemarFromCounts', 'b');
  assertInt(c, 0, 'mcnemarFromCounts', 'c');
  const exactBelow = opts.exactBelow ?? 25;
  assertInt(exactBelow, 0, 'mcnemarFromCounts', 'exactBelow');
  const n = b + c;
  if (n < exactBelow || n === 0) {
    const k = Math.min(b, c);
    return { onlyACorrect: b, onlyBCorrect: c, statistic: k, pValue: n === 0 ? 1 : Math.min(1, 2 * binomialCdf(k, n, 0.5)), method: 'exact' };
  }
  const stat = (Math.abs(b - c) - 1) ** 2 / n;
  return { onlyACorrect: b, onlyBCorrect: c, statistic: stat, pValue: chiSquareSf(stat, 1), method: 'chi-square' };
}

/**
 * McNemar's test comparing the 0/1 predictions of models A and B against the same labels.
 * @param yTrue - 0/1 labels; predA, predB - 0/1 predictions of the two models.
 * @param opts.exactBelow - see {@link mcnemarFromCounts}; default 25.
 */
export function mcnemar(yTrue: ArrayLike<number>, predA: ArrayLike<number>, predB: ArrayLike<number>, opts: { exactBelow?: number } = {}): McNemarResult {
  assertBinaryLabels(yTrue, 'mcnemar', 'yTrue');
  assertBinaryLabels(predA, 'mcnemar', 'predA');
  assertBinaryLabels(predB, 'mcnemar', 'predB');
  assertSameLength(yTrue, predA, 'mcnemar', 'yTrue', 'predA');
  assertSameLength(yTrue, predB, 'mcnemar', 'yTrue', 'predB');
  let b = 0;
  let c = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const a = predA[i] === yTrue[i];
    const bb = predB[i] === yTrue[i];
    if (a && !bb) b++;
    else if (bb && !a) c++;
  }
  if (!Number.isFinite(b + c)) throw new MlRangeError('mcnemar: counts overflowed');
  return mcnemarFromCounts(b, c, opts);
}
