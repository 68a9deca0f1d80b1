// Regression metrics (scikit-learn definitions).
import { assertFinite, assertSameLength } from './validate.js';

function check(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, fn: string): number {
  assertFinite(yTrue, fn, 'yTrue');
  assertFinite(yPred, fn, 'yPred');
  assertSameLength(yTrue, yPred, fn, 'yTrue', 'yPred');
  return yTrue.length;
}

/** Mean absolute error mean(|y - ŷ|). */
export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred, 'mae');
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return s / n;
}

/** Root mean squared error sqrt(mean((y - ŷ)^2)). */
export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred, 'rmse');
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i] - yPred[i];
    s += d * d;
  }
  return Math.sqrt(s / n);
}

/**
 * Coefficient of determination 1 - SS_res / SS_tot (sklearn `r2_score`). When yTrue is
 * constant (SS_tot = 0) it follows sklearn's `force_finite=True`: 1 for a perfect prediction,
 * otherwise 0 — never NaN or -Infinity.
 */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred, 'r2');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i] - yPred[i];
    const t = yTrue[i] - mean;
    ssRes += d * d;
    ssTot += t * t;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}
