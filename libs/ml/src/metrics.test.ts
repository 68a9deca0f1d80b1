import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MlInputError,
  MlRangeError,
  accuracy,
  averagePrecision,
  binaryMetrics,
  brierScore,
  confusionMatrix,
  expectedCalibrationError,
  f1,
  logLoss,
  mae,
  precision,
  r2,
  recall,
  rmse,
  rocAuc,
} from './index.js';

interface BinaryCase {
  name: string;
  yTrue: number[];
  yProb: number[];
  threshold: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number | null;
  averagePrecision: number | null;
  logLoss: number;
  logLossSklearn: number | null;
  brier: number;
  ece: number | null;
}
interface RegressionCase {
  yTrue: number[];
  yPred: number[];
  mae: number;
  rmse: number;
  r2: number;
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as {
  binary: BinaryCase[];
  regression: RegressionCase[];
};

const close = (a: number | null, b: number | null, tol = 1e-12): void => {
  if (b === null) return void expect(a).toBeNull();
  expect(a).not.toBeNull();
  expect(Math.abs((a as number) - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
};

describe('published worked examples', () => {
  it('roc_auc_score / average_precision_score docs example (scikit-learn 1.2 API reference)', () => {
    // sklearn docs: y_true=[0,0,1,1], scores=[0.1,0.4,0.35,0.8] -> AUC 0.75, AP 0.8333...
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    close(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.8333333333333333);
  });
  it('brier_score_loss docs example', () => {
    // sklearn docs: y_true=[0,1,1,0], y_prob=[0.1,0.9,0.8,0.3] -> 0.037...(= 0.0375)
    close(brierScore([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), 0.0375);
  });
  it('log_loss docs example', () => {
    // sklearn docs: log_loss(["spam","ham","ham","spam"], [[.1,.9],[.9,.1],[.8,.2],[.35,.65]]) -> 0.21616...
    close(logLoss([1, 0, 0, 1], [0.9, 0.1, 0.2, 0.65]), 0.21616187468057912);
  });
  it('confusion_matrix docs binary example', () => {
    // sklearn docs: tn, fp, fn, tp = confusion_matrix([0,1,0,1], [1,1,1,0]).ravel() -> (0, 2, 1, 1)
    expect(confusionMatrix([0, 1, 0, 1], [1, 1, 1, 0])).toEqual({ tn: 0, fp: 2, fn: 1, tp: 1 });
  });
  it('regression docs examples (mean_absolute_error, mean_squared_error, r2_score)', () => {
    // sklearn docs: y_true=[3,-0.5,2,7], y_pred=[2.5,0.0,2,8] -> MAE 0.5, MSE 0.375, R2 0.948...
    const t = [3, -0.5, 2, 7];
    const p = [2.5, 0.0, 2, 8];
    close(mae(t, p), 0.5);
    close(rmse(t, p), Math.sqrt(0.375));
    close(r2(t, p), 0.9486081370449679);
  });
});

describe('scikit-learn reference vectors', () => {
  for (const c of ref.binary) {
    it(`binary case ${c.name}`, () => {
      const m = binaryMetrics(c.yTrue, c.yProb, { threshold: c.threshold });
      expect(m.confusion).toEqual(c.confusion);
      expect(m.n).toBe(c.yTrue.length);
      close(m.accuracy, c.accuracy);
      close(m.precision, c.precision);
      close(m.recall, c.recall);
      close(m.f1, c.f1);
      close(m.rocAuc, c.rocAuc);
      close(m.averagePrecision, c.averagePrecision, 1e-12);
      close(m.logLoss, c.logLoss, 1e-12);
      if (c.logLossSklearn !== null && c.yProb.every((p) => p > 1e-15 && p < 1 - 1e-15)) close(m.logLoss, c.logLossSklearn, 1e-12);
      close(m.brier, c.brier);
      if (c.ece !== null) close(m.ece, c.ece, 1e-12);
      const pred = c.yProb.map((p) => (p >= c.threshold ? 1 : 0));
      close(accuracy(c.yTrue, pred), c.accuracy);
      close(precision(c.yTrue, c.yProb, { threshold: c.threshold }), c.precision);
      close(recall(c.yTrue, pred), c.recall);
      close(f1(c.yTrue, pred), c.f1);
      close(brierScore(c.yTrue, Float32Array.from(c.yProb)), c.brier, 1e-6);
    });
  }
  ref.regression.forEach((c, i) => {
    it(`regression case ${i}`, () => {
      close(mae(c.yTrue, c.yPred), c.mae);
      close(rmse(c.yTrue, c.yPred), c.rmse);
      close(r2(c.yTrue, c.yPred), c.r2, 1e-11);
    });
  });
});

describe('edge cases', () => {
  it('single-class labels: rocAuc throws, binaryMetrics reports null', () => {
    expect(() => rocAuc([1, 1, 1], [0.2, 0.3, 0.4])).toThrow(MlRangeError);
    expect(() => rocAuc([1, 1, 1], [0.2, 0.3, 0.4])).toThrow(/single class/);
    const m = binaryMetrics([0, 0, 0], [0.2, 0.6, 0.4]);
    expect(m.rocAuc).toBeNull();
    expect(m.averagePrecision).toBeNull();
    expect(m.precision).toBe(0);
    expect(m.recall).toBe(0);
    expect(m.f1).toBe(0);
    const allPos = binaryMetrics([1, 1], [0.2, 0.6]);
    expect(allPos.rocAuc).toBeNull();
    expect(allPos.averagePrecision).toBe(1);
    expect(() => averagePrecision([0, 0], [0.1, 0.2])).toThrow(/no positive/);
  });
  it('all-equal scores give AUC 0.5 (midranks)', () => {
    expect(rocAuc([0, 1, 0, 1, 1], [3, 3, 3, 3, 3])).toBe(0.5);
  });
  it('NaN, infinities and bad labels are clear errors', () => {
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow('rocAuc: yScore[1] is NaN');
    expect(() => rocAuc([0, 1], [Infinity, 0])).toThrow('rocAuc: yScore[0] is Infinity');
    expect(() => binaryMetrics([0, 2], [0.1, 0.2])).toThrow('binaryMetrics: yTrue[1] is 2, expected 0 or 1');
    expect(() => binaryMetrics([0, 1], [0.1, 1.2])).toThrow(/yProb\[1\] is 1.2/);
    expect(() => logLoss([0, 1, 1], [0.1, 0.2])).toThrow(/length/);
    expect(() => mae([], [])).toThrow(/empty/);
    expect(() => r2([1, 2], [1, -Infinity])).toThrow('r2: yPred[1] is -Infinity');
    expect(() => binaryMetrics([0, 1], [0.1, 0.2], { threshold: NaN })).toThrow(/threshold/);
    try {
      rocAuc([0, 1], [NaN, 1]);
    } catch (e) {
      expect(e).toBeInstanceOf(MlInputError);
    }
  });
  it('log loss clips certain mistakes instead of returning Infinity', () => {
    close(logLoss([1], [0]), -Math.log(1e-15), 1e-12);
  });
  it('ECE of a perfectly calibrated bin is 0 and bins are right-closed', () => {
    expect(expectedCalibrationError([0, 1], [0.5, 0.5])).toBe(0);
    // 0.1 sits on an edge: it belongs to bin (0, 0.1] together with 0.05.
    close(expectedCalibrationError([1, 0], [0.1, 0.05]), 0.425);
    expect(() => expectedCalibrationError([1], [0.5], { bins: 0 })).toThrow(/bins/);
  });
  it('r2 with constant yTrue follows sklearn force_finite', () => {
    expect(r2([2, 2, 2], [2, 2, 2])).toBe(1);
    expect(r2([2, 2, 2], [1, 2, 3])).toBe(0);
  });
});
