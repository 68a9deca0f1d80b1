// Metrics on predicted probabilities of the positive class.
import { assertBinaryLabels, assertInt, assertProbabilities, assertSameLength } from './validate.js';

const CLIP = 1e-15;

function check(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, fn: string): void {
  assertBinaryLabels(yTrue, fn, 'yTrue');
  assertProbabilities(yProb, fn, 'yProb');
  assertSameLength(yTrue, yProb, fn, 'yTrue', 'yProb');
}

/**
 * Mean binary cross-entropy -mean(y log p + (1-y) log(1-p)), natural log, with p clipped to
 * [1e-15, 1 - 1e-15] as scikit-learn's `log_loss` historically did, so certain mistakes cost
 * ~34.5 rather than Infinity.
 * @param yProb - probabilities of class 1, in [0, 1].
 */
export function logLoss(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  check(yTrue, yProb, 'logLoss');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(yProb[i], CLIP), 1 - CLIP);
    s -= yTrue[i] === 1 ? Math.log(p) : Math.log1p(-p);
  }
  return s / yTrue.length;
}

/** Brier score mean((p - y)^2) (sklearn `brier_score_loss`); probabilities in [0, 1]. */
export function brierScore(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  check(yTrue, yProb, 'brierScore');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const d = yProb[i] - yTrue[i];
    s += d * d;
  }
  return s / yTrue.length;
}

/** Options of {@link expectedCalibrationError}. */
export interface EceOptions {
  /** Number of equal-width probability bins on [0, 1]; default 10. */
  bins?: number;
}

/**
 * Expected calibration error: sum over equal-width bins of (bin size / n) x |mean label -
 * mean probability|. Bins are right-closed: bin b holds p in (b/B, (b+1)/B], the first also
 * holds 0 — Guo et al. (2017) and sklearn's `calibration_curve(strategy="uniform")` binning;
 * empty bins contribute 0.
 * @param opts.bins - number of bins, default 10.
 */
export function expectedCalibrationError(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, opts: EceOptions = {}): number {
  const bins = opts.bins ?? 10;
  assertInt(bins, 1, 'expectedCalibrationError', 'bins');
  check(yTrue, yProb, 'expectedCalibrationError');
  const count = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const width = 1 / bins;
  for (let i = 0; i < yTrue.length; i++) {
    const p = yProb[i];
    const b = eceBin(p, bins, width);
    count[b]++;
    sumY[b] += yTrue[i];
    sumP[b] += p;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += Math.abs(sumY[b] - sumP[b]);
  }
  return ece / yTrue.length;
}

/** Bin index of p for {@link expectedCalibrationError}: count of interior edges k*width < p. */
export function eceBin(p: number, bins: number, width: number): number {
  // Edges are computed as k * (1/bins) exactly as numpy.linspace does, so a probability
  // sitting on an edge lands in the same bin as in sklearn.
  let b = Math.min(Math.floor(p * bins), bins - 1);
  while (b > 0 && b * width >= p) b--;
  while (b < bins - 1 && (b + 1) * width < p) b++;
  return b;
}
