// Per-row values of the mean-type binary metrics, summed: what a sequential test on a metric
// needs from a window of labelled predictions besides its count.
import { assertBinaryLabels, assertOption, assertProbabilities, assertSameLength } from './validate.js';

const CLIP = 1e-15;

/** Σx and Σx² of a metric's per-row values over some rows. */
export interface RowSums {
  sum: number;
  sumSquares: number;
}

/** {@link RowSums} of the per-row metrics whose mean is accuracy, log loss and Brier score (a type, so it fits a map of metric names). */
export type BinaryRowSums = {
  /** Per-row correctness: 1 when (p ≥ threshold) equals the label. */
  accuracy: RowSums;
  /** Per-row log loss −log p(true class), p clipped to [1e-15, 1 − 1e-15] as {@link logLoss}. */
  logLoss: RowSums;
  /** Per-row squared error (p − y)². */
  brier: RowSums;
};

/**
 * Sums and sums of squares of the per-row values behind accuracy, log loss and Brier score, so
 * a window's rows can be pooled with other windows' and their variance known (sum / n is the
 * metric, as {@link binaryMetrics} computes it).
 * @param yTrue - 0/1 labels.
 * @param yProb - probabilities of class 1, in [0, 1].
 * @param opts.threshold - decision threshold for correctness, default 0.5 (positive when p ≥ threshold).
 */
export function binaryRowSums(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, opts: { threshold?: number } = {}): BinaryRowSums {
  const threshold = opts.threshold ?? 0.5;
  assertOption(threshold, Number.isFinite, 'binaryRowSums', 'threshold', 'a finite number');
  assertBinaryLabels(yTrue, 'binaryRowSums', 'yTrue');
  assertProbabilities(yProb, 'binaryRowSums', 'yProb');
  assertSameLength(yTrue, yProb, 'binaryRowSums', 'yTrue', 'yProb');
  const out = { accuracy: { sum: 0, sumSquares: 0 }, logLoss: { sum: 0, sumSquares: 0 }, brier: { sum: 0, sumSquares: 0 } };
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    const p = yProb[i];
    const correct = (p >= threshold ? 1 : 0) === y ? 1 : 0;
    out.accuracy.sum += correct;
    out.accuracy.sumSquares += correct;
    const q = Math.min(Math.max(p, CLIP), 1 - CLIP);
    const ll = y === 1 ? -Math.log(q) : -Math.log1p(-q);
    out.logLoss.sum += ll;
    out.logLoss.sumSquares += ll * ll;
    const d = (p - y) * (p - y);
    out.brier.sum += d;
    out.brier.sumSquares += d * d;
  }
  return out;
}
