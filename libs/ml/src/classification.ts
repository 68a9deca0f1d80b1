// Threshold metrics for binary classification, following scikit-learn's definitions and its
// zero_division=0 convention (an undefined ratio is reported as 0, never NaN).
import { assertBinaryLabels, assertFinite, assertOption, assertSameLength } from './validate.js';

/** Counts of a binary confusion matrix. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Options of the threshold metrics. */
export interface ThresholdOptions {
  /**
   * When set, `yPred` holds scores/probabilities and a row is predicted positive when
   * `score >= threshold`. When unset (default), `yPred` must hold 0/1 labels.
   */
  threshold?: number;
}

/**
 * Binary confusion matrix (positive class = 1).
 * @param yTrue - 0/1 labels.
 * @param yPred - 0/1 predicted labels, or scores when `opts.threshold` is set.
 * @param opts - see {@link ThresholdOptions}.
 * @throws MlRangeError on length mismatch, empty input, non-0/1 labels, NaN/infinite scores.
 */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ThresholdOptions = {}, fn = 'confusionMatrix'): Confusion {
  assertBinaryLabels(yTrue, fn, 'yTrue');
  const threshold = opts.threshold;
  if (threshold === undefined) assertBinaryLabels(yPred, fn, 'yPred');
  else {
    assertOption(threshold, Number.isFinite, fn, 'threshold', 'a finite number');
    assertFinite(yPred, fn, 'yPred');
  }
  assertSameLength(yTrue, yPred, fn, 'yTrue', 'yPred');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fnc = 0;
  const n = yTrue.length;
  for (let i = 0; i < n; i++) {
    const pos = threshold === undefined ? yPred[i] === 1 : yPred[i] >= threshold;
    if (yTrue[i] === 1) {
      if (pos) tp++;
      else fnc++;
    } else if (pos) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn: fnc };
}

/** Accuracy from confusion counts: (tp + tn) / n. */
export function accuracyFromConfusion(c: Confusion): number {
  return (c.tp + c.tn) / (c.tp + c.tn + c.fp + c.fn);
}

/** Precision from confusion counts: tp / (tp + fp), 0 when nothing is predicted positive. */
export function precisionFromConfusion(c: Confusion): number {
  return c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
}

/** Recall (TPR) from confusion counts: tp / (tp + fn), 0 when there are no positives. */
export function recallFromConfusion(c: Confusion): number {
  return c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
}

/** F1 from confusion counts: 2tp / (2tp + fp + fn), 0 when tp + fp + fn = 0. */
export function f1FromConfusion(c: Confusion): number {
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? 0 : (2 * c.tp) / d;
}

/**
 * Fraction of rows whose prediction equals the label (sklearn `accuracy_score`).
 * @param yTrue - 0/1 labels.
 * @param yPred - 0/1 predictions, or scores when `opts.threshold` is set.
 */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ThresholdOptions = {}): number {
  return accuracyFromConfusion(confusionMatrix(yTrue, yPred, opts, 'accuracy'));
}

/**
 * Precision tp / (tp + fp) (sklearn `precision_score`, zero_division=0: returns 0 when
 * nothing is predicted positive).
 */
export function precision(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ThresholdOptions = {}): number {
  return precisionFromConfusion(confusionMatrix(yTrue, yPred, opts, 'precision'));
}

/** Recall tp / (tp + fn) (sklearn `recall_score`, zero_division=0: returns 0 without positives). */
export function recall(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ThresholdOptions = {}): number {
  return recallFromConfusion(confusionMatrix(yTrue, yPred, opts, 'recall'));
}

/** F1 score 2tp / (2tp + fp + fn) (sklearn `f1_score`, zero_division=0). */
export function f1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, opts: ThresholdOptions = {}): number {
  return f1FromConfusion(confusionMatrix(yTrue, yPred, opts, 'f1'));
}
