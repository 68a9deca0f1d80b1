import { calibrationCurve, precisionRecallCurve, rocCurve } from '@refit/ml';

/** The curves of one model on the judged rows, as drawn by the console. */
export type ModelCurves = {
  /** ROC, from (0, 0) to (1, 1), at most 200 points; empty when the rows hold a single class. */
  roc: { fpr: number[]; tpr: number[] };
  /** Precision–recall, from (recall 0, precision 1), at most 200 points; empty without a positive row. */
  pr: { recall: number[]; precision: number[] };
  /** Reliability diagram on 10 equal-width bins, empty bins left out. */
  calibration: { predicted: number[]; observed: number[]; count: number[] };
};

/** The `curves` field of the report: both models on the same rows (those the comparison used). */
export type EvaluationCurves = { rows: number; candidate: ModelCurves; champion?: ModelCurves };

/** Points per ROC and PR curve: enough for a chart, small enough for a report. */
const MAX_POINTS = 200;

/** The curves of one model's probabilities against 0/1 labels (libs/ml). */
export function modelCurves(y: ArrayLike<number>, probs: ArrayLike<number>): ModelCurves {
  const roc = rocCurve(y, probs, { maxPoints: MAX_POINTS });
  const pr = precisionRecallCurve(y, probs, { maxPoints: MAX_POINTS });
  return { roc: { fpr: roc.fpr, tpr: roc.tpr }, pr: { recall: pr.recall, precision: pr.precision }, calibration: calibrationCurve(y, probs, 10) };
}

/**
 * The ROC, PR and calibration curves of the candidate and (when judged) the champion, computed on
 * exactly the rows given — judge's, so after the comparison's leakage exclusion. Only for a
 * binary head (probabilities of class 1); undefined with no rows.
 */
export function curvesOf(y: ArrayLike<number>, candidate: ArrayLike<number>, champion?: ArrayLike<number>): EvaluationCurves | undefined {
  if (y.length === 0) return undefined;
  return { rows: y.length, candidate: modelCurves(y, candidate), champion: champion && modelCurves(y, champion) };
}
