// The curves behind a binary classifier's ranking and calibration metrics, for drawing. Each ROC
// and PR point is exact for its threshold; only the number of points is reduced (simplify.ts).
import { eceBin } from './probabilistic.js';
import { splitSortedScores, type SplitScores } from './ranking.js';
import { simplifyPolyline } from './simplify.js';
import { assertBinaryLabels, assertInt, assertProbabilities, assertSameLength } from './validate.js';

/** Options of {@link rocCurve} and {@link precisionRecallCurve}. */
export interface CurveOptions {
  /**
   * Most points returned; default 200. A longer curve is downsampled by Visvalingam–Whyatt: the
   * first and last points always stay, and interior points go smallest-triangle first (collinear
   * ones first of all), so corners stay and the trapezoid area moves by at most the sum of the
   * dropped triangles. `Infinity` keeps one point per distinct threshold.
   */
  maxPoints?: number;
}

/** Result of {@link rocCurve}: parallel arrays, thresholds descending. */
export interface RocCurve {
  /** False positive rate at each threshold, non-decreasing from 0 to 1. */
  fpr: number[];
  /** True positive rate at each threshold, non-decreasing from 0 to 1. */
  tpr: number[];
  /** A row is positive when score >= threshold; the first is +Infinity (nothing positive). */
  thresholds: number[];
}

/** Result of {@link precisionRecallCurve}: parallel arrays, thresholds descending. */
export interface PrCurve {
  /** tp / positives at each threshold, non-decreasing from 0 to 1. */
  recall: number[];
  /** tp / (tp + fp) at each threshold; 1 at the first point (+Infinity, nothing predicted), as sklearn. */
  precision: number[];
  /** A row is positive when score >= threshold; the first is +Infinity. */
  thresholds: number[];
}

/** Result of {@link calibrationCurve}: one entry per non-empty bin, bins ascending. */
export interface CalibrationCurve {
  /** Mean predicted probability of the bin's rows. */
  predicted: number[];
  /** Share of positives among the bin's rows. */
  observed: number[];
  /** Rows in the bin. */
  count: number[];
}

type Counts = { fp: number[]; tp: number[]; thresholds: number[] };

/** Cumulative (fp, tp) after each distinct threshold, highest first, from the point before any. */
function cumulative({ pos, neg }: SplitScores): Counts {
  const out: Counts = { fp: [0], tp: [0], thresholds: [Number.POSITIVE_INFINITY] };
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    // The next threshold is the highest score not yet passed, of either class; tied rows enter together.
    const v = i < 0 ? neg[j] : j < 0 ? pos[i] : Math.max(pos[i], neg[j]);
    while (i >= 0 && pos[i] === v) {
      i--;
      tp++;
    }
    while (j >= 0 && neg[j] === v) {
      j--;
      fp++;
    }
    out.tp.push(tp);
    out.fp.push(fp);
    out.thresholds.push(v);
  }
  return out;
}

const pick = (a: number[], idx: number[]): number[] => idx.map((i) => a[i]);

/**
 * ROC curve (sklearn `roc_curve` with `drop_intermediate=False`, thresholds[0] = +Infinity):
 * one point per distinct score, highest first, from (0, 0) to (1, 1); tied scores enter together,
 * so a tie between classes is a diagonal segment and the trapezoid area under the full curve
 * equals {@link rocAuc} (ties count 1/2). Downsampled to `opts.maxPoints` (default 200).
 * @returns empty arrays when yTrue holds a single class (one of the rates is undefined).
 * @throws MlRangeError on labels not 0/1, NaN/infinite scores, length mismatch, empty input.
 */
export function rocCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>, opts: CurveOptions = {}): RocCurve {
  const split = splitSortedScores(yTrue, scores, 'rocCurve', 'scores');
  const np = split.pos.length;
  const nn = split.neg.length;
  if (np === 0 || nn === 0) return { fpr: [], tpr: [], thresholds: [] };
  const c = cumulative(split);
  const fpr = c.fp.map((f) => f / nn);
  const tpr = c.tp.map((t) => t / np);
  const keep = simplifyPolyline(fpr, tpr, opts.maxPoints ?? 200, 'rocCurve');
  return { fpr: pick(fpr, keep), tpr: pick(tpr, keep), thresholds: pick(c.thresholds, keep) };
}

/**
 * Precision–recall curve, thresholds descending (sklearn `precision_recall_curve` read backwards,
 * without dropping points after full recall): the first point is (recall 0, precision 1) at
 * +Infinity, then one point per distinct score with tied scores entering together. Summing
 * (recall[k] - recall[k-1]) x precision[k] over the full curve gives {@link averagePrecision}.
 * Downsampled to `opts.maxPoints` (default 200).
 * @returns empty arrays when yTrue has no positive (recall is undefined); with no negative,
 *   precision is 1 everywhere.
 * @throws MlRangeError on labels not 0/1, NaN/infinite scores, length mismatch, empty input.
 */
export function precisionRecallCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>, opts: CurveOptions = {}): PrCurve {
  const split = splitSortedScores(yTrue, scores, 'precisionRecallCurve', 'scores');
  const np = split.pos.length;
  if (np === 0) return { recall: [], precision: [], thresholds: [] };
  const c = cumulative(split);
  const recall = c.tp.map((t) => t / np);
  const precision = c.tp.map((t, k) => (k === 0 ? 1 : t / (t + c.fp[k])));
  const keep = simplifyPolyline(recall, precision, opts.maxPoints ?? 200, 'precisionRecallCurve');
  return { recall: pick(recall, keep), precision: pick(precision, keep), thresholds: pick(c.thresholds, keep) };
}

/**
 * Reliability diagram (sklearn `calibration_curve(strategy="uniform")`, plus the counts): scores
 * in `bins` equal-width bins on [0, 1], right-closed as {@link expectedCalibrationError} (the
 * first also holds 0), so ECE = Σ count·|observed − predicted| / n. Empty bins are left out.
 * Works with a single class (observed is then all 0 or all 1).
 * @param bins - number of bins, an integer >= 1, default 10.
 * @throws MlRangeError on labels not 0/1, scores outside [0, 1] or not finite, length mismatch, empty input.
 */
export function calibrationCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): CalibrationCurve {
  assertInt(bins, 1, 'calibrationCurve', 'bins');
  assertBinaryLabels(yTrue, 'calibrationCurve', 'yTrue');
  assertProbabilities(scores, 'calibrationCurve', 'scores');
  assertSameLength(yTrue, scores, 'calibrationCurve', 'yTrue', 'scores');
  const count = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const width = 1 / bins;
  for (let i = 0; i < yTrue.length; i++) {
    const b = eceBin(scores[i], bins, width);
    count[b]++;
    sumY[b] += yTrue[i];
    sumP[b] += scores[i];
  }
  const out: CalibrationCurve = { predicted: [], observed: [], count: [] };
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.predicted.push(sumP[b] / count[b]);
    out.observed.push(sumY[b] / count[b]);
    out.count.push(count[b]);
  }
  return out;
}
