// One-call summary of a binary classifier, validating the inputs once.
import { accuracyFromConfusion, f1FromConfusion, precisionFromConfusion, recallFromConfusion } from './classification.js';
import type { Confusion } from './classification.js';
import { brierScore, expectedCalibrationError, logLoss } from './probabilistic.js';
import { averagePrecisionSorted, rocAucSorted, splitSortedScores } from './ranking.js';
import { assertOption, assertProbabilities } from './validate.js';

/** Result of {@link binaryMetrics}. */
export interface BinaryMetrics {
  /** Number of rows. */
  n: number;
  /** Number of rows with label 1. */
  positives: number;
  accuracy: number;
  /** tp / (tp + fp); 0 when nothing is predicted positive. */
  precision: number;
  /** tp / (tp + fn); 0 when there is no positive. */
  recall: number;
  /** 2tp / (2tp + fp + fn); 0 when undefined. */
  f1: number;
  /** ROC AUC, or null when yTrue holds a single class (undefined, not NaN). */
  rocAuc: number | null;
  /** Average precision, or null when yTrue has no positive (undefined, not NaN). */
  averagePrecision: number | null;
  /** Log loss with probabilities clipped to [1e-15, 1 - 1e-15]. */
  logLoss: number;
  brier: number;
  /** Expected calibration error over 10 equal-width bins. */
  ece: number;
  /** Confusion counts at the threshold. */
  confusion: Confusion;
}

/** Options of {@link binaryMetrics}. */
export interface BinaryMetricsOptions {
  /** A row is predicted positive when its probability is >= threshold; default 0.5. */
  threshold?: number;
}

/**
 * All standard binary-classification metrics of probabilities `yProb` against 0/1 labels.
 * Undefined ranking metrics are `null` (single-class yTrue for rocAuc, no positive for
 * averagePrecision), never NaN; all other fields are always finite numbers.
 * @param yTrue - 0/1 labels.
 * @param yProb - probabilities of class 1, in [0, 1].
 * @param opts.threshold - decision threshold, default 0.5 (positive when prob >= threshold).
 * @throws MlRangeError on empty input, length mismatch, labels not 0/1, probabilities that are
 *   NaN, infinite or outside [0, 1], or a threshold that is not finite.
 */
export function binaryMetrics(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, opts: BinaryMetricsOptions = {}): BinaryMetrics {
  const threshold = opts.threshold ?? 0.5;
  assertOption(threshold, Number.isFinite, 'binaryMetrics', 'threshold', 'a finite number');
  const split = splitSortedScores(yTrue, yProb, 'binaryMetrics', 'yProb');
  assertProbabilities(yProb, 'binaryMetrics', 'yProb');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const pos = yProb[i] >= threshold;
    if (yTrue[i] === 1) {
      if (pos) tp++;
      else fn++;
    } else if (pos) fp++;
    else tn++;
  }
  const confusion = { tp, fp, tn, fn };
  return {
    n: yTrue.length,
    positives: split.pos.length,
    accuracy: accuracyFromConfusion(confusion),
    precision: precisionFromConfusion(confusion),
    recall: recallFromConfusion(confusion),
    f1: f1FromConfusion(confusion),
    rocAuc: rocAucSorted(split),
    averagePrecision: averagePrecisionSorted(split),
    logLoss: logLoss(yTrue, yProb),
    brier: brierScore(yTrue, yProb),
    ece: expectedCalibrationError(yTrue, yProb),
    confusion,
  };
}
