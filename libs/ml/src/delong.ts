// DeLong, DeLong & Clarke-Pearson (1988) test for two correlated ROC AUCs, computed with
// sorted placements (Sun & Xu 2014 idea) in O(n log n).
import { MlRangeError } from './errors.js';
import { radixSortFloat64, lowerBound, upperBound } from './sort.js';
import { normalSf } from './special/gamma.js';
import { assertBinaryLabels, assertFinite, assertSameLength } from './validate.js';

/** Result of {@link deLongTest}. */
export interface DeLongResult {
  aucA: number;
  aucB: number;
  /** aucB - aucA. */
  difference: number;
  /** Standard error of the difference. */
  standardError: number;
  /** difference / standardError (0 when both are 0). */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
}

interface Placements {
  auc: number;
  v10: Float64Array; // per positive: share of negatives ranked below (ties 1/2)
  v01: Float64Array; // per negative: share of positives ranked above (ties 1/2)
}

function placements(yTrue: ArrayLike<number>, s: ArrayLike<number>, np: number, nn: number): Placements {
  const pos = new Float64Array(np);
  const neg = new Float64Array(nn);
  let p = 0;
  let q = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] === 1) pos[p++] = s[i];
    else neg[q++] = s[i];
  }
  const sp = radixSortFloat64(pos.slice());
  const sn = radixSortFloat64(neg.slice());
  const v10 = new Float64Array(np);
  const v01 = new Float64Array(nn);
  let sum = 0;
  for (let i = 0; i < np; i++) {
    const lo = lowerBound(sn, pos[i]);
    const hi = upperBound(sn, pos[i], lo);
    v10[i] = (lo + 0.5 * (hi - lo)) / nn;
    sum += v10[i];
  }
  for (let j = 0; j < nn; j++) {
    const lo = lowerBound(sp, neg[j]);
    const hi = upperBound(sp, neg[j], lo);
    v01[j] = (np - hi + 0.5 * (hi - lo)) / np;
  }
  return { auc: sum / np, v10, v01 };
}

function cov(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i] - mx) * (y[i] - my);
  return s / (n - 1);
}

/**
 * DeLong's test of H0: AUC_A = AUC_B for two models scored on the same rows (as R pROC
 * `roc.test(method = "delong", paired = TRUE)`). Ties count 1/2.
 * @param yTrue - 0/1 labels with at least 2 positives and 2 negatives.
 * @param scoresA - champion scores; scoresB - challenger scores (finite).
 */
export function deLongTest(yTrue: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>): DeLongResult {
  const np = assertBinaryLabels(yTrue, 'deLongTest', 'yTrue');
  assertFinite(scoresA, 'deLongTest', 'scoresA');
  assertFinite(scoresB, 'deLongTest', 'scoresB');
  assertSameLength(yTrue, scoresA, 'deLongTest', 'yTrue', 'scoresA');
  assertSameLength(yTrue, scoresB, 'deLongTest', 'yTrue', 'scoresB');
  const nn = yTrue.length - np;
  if (np < 2 || nn < 2) throw new MlRangeError(`deLongTest: needs at least 2 positives and 2 negatives, got ${np} and ${nn}`);
  const a = placements(yTrue, scoresA, np, nn);
  const b = placements(yTrue, scoresB, np, nn);
  const var10 = cov(a.v10, a.v10) + cov(b.v10, b.v10) - 2 * cov(a.v10, b.v10);
  const var01 = cov(a.v01, a.v01) + cov(b.v01, b.v01) - 2 * cov(a.v01, b.v01);
  const variance = Math.max(0, var10 / np + var01 / nn);
  const difference = b.auc - a.auc;
  const standardError = Math.sqrt(variance);
  if (standardError === 0) {
    return { aucA: a.auc, aucB: b.auc, difference, standardError, z: difference === 0 ? 0 : Math.sign(difference) * Infinity, pValue: difference === 0 ? 1 : 0 };
  }
  const z = difference / standardError;
  return { aucA: a.auc, aucB: b.auc, difference, standardError, z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}
