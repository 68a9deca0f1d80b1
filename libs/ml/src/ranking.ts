// Ranking metrics. Both sort positives and negatives separately (radix sort, no index sort)
// and merge, so a million scores cost two linear-time sorts and one pass.
import { MlRangeError } from './errors.js';
import { radixSortFloat64 } from './sort.js';
import { assertBinaryLabels, assertFinite, assertSameLength } from './validate.js';

/** Scores split by label, each ascending. */
export interface SplitScores {
  pos: Float64Array;
  neg: Float64Array;
}

/** Validates labels/scores and returns the positive and negative scores, each sorted ascending. */
export function splitSortedScores(yTrue: ArrayLike<number>, scores: ArrayLike<number>, fn: string, name = 'yScore'): SplitScores {
  const ones = assertBinaryLabels(yTrue, fn, 'yTrue');
  assertFinite(scores, fn, name);
  assertSameLength(yTrue, scores, fn, 'yTrue', name);
  const pos = new Float64Array(ones);
  const neg = new Float64Array(yTrue.length - ones);
  let p = 0;
  let q = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  radixSortFloat64(pos);
  radixSortFloat64(neg);
  return { pos, neg };
}

/** ROC AUC of pre-split sorted scores; null when either class is empty. */
export function rocAucSorted({ pos, neg }: SplitScores): number | null {
  const np = pos.length;
  const nn = neg.length;
  if (np === 0 || nn === 0) return null;
  // Mann-Whitney U with midranks: each positive earns 1 per lower negative, 1/2 per tie.
  let u = 0;
  let j = 0;
  let i = 0;
  while (i < np) {
    const v = pos[i];
    let k = i;
    while (k < np && pos[k] === v) k++;
    while (j < nn && neg[j] < v) j++;
    let t = j;
    while (t < nn && neg[t] === v) t++;
    u += (k - i) * (j + 0.5 * (t - j));
    i = k;
  }
  return u / np / nn;
}

/**
 * Area under the ROC curve (sklearn `roc_auc_score`), equal to the Mann-Whitney U statistic
 * divided by (positives x negatives), so tied scores count 1/2.
 * @param yTrue - 0/1 labels.
 * @param yScore - finite scores; higher means more likely positive.
 * @throws MlRangeError when yTrue holds a single class (AUC undefined, as sklearn raises),
 *   or on NaN/infinite scores, bad labels, length mismatch, empty input.
 */
export function rocAuc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  const auc = rocAucSorted(splitSortedScores(yTrue, yScore, 'rocAuc'));
  if (auc === null) throw new MlRangeError('rocAuc: yTrue contains a single class; ROC AUC is undefined');
  return auc;
}

/** Average precision of pre-split sorted scores; null when there are no positives. */
export function averagePrecisionSorted({ pos, neg }: SplitScores): number | null {
  const np = pos.length;
  if (np === 0) return null;
  // Walk thresholds from the highest score down; rows with equal scores enter together
  // (sklearn's step-wise AP: sum over thresholds of (R_k - R_{k-1}) * P_k).
  let i = np - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  while (i >= 0) {
    const v = j >= 0 && neg[j] > pos[i] ? neg[j] : pos[i];
    let dtp = 0;
    while (i >= 0 && pos[i] === v) {
      i--;
      dtp++;
    }
    while (j >= 0 && neg[j] === v) {
      j--;
      fp++;
    }
    tp += dtp;
    if (dtp > 0) ap += (dtp / np) * (tp / (tp + fp));
  }
  return ap;
}

/**
 * Average precision (sklearn `average_precision_score`): sum over distinct score thresholds,
 * highest first, of (recall gain) x (precision at that threshold); tied scores enter together.
 * All-positive labels give 1.
 * @throws MlRangeError when yTrue has no positive (recall undefined), or on invalid input.
 */
export function averagePrecision(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  const ap = averagePrecisionSorted(splitSortedScores(yTrue, yScore, 'averagePrecision'));
  if (ap === null) throw new MlRangeError('averagePrecision: yTrue has no positive; average precision is undefined');
  return ap;
}
