import { describe, expect, it } from 'vitest';
import { confusionMatrix } from './classification.js';
import { bayesThreshold, costCurve, decisionsAt, minCostThreshold, storedThreshold, totalCost } from './cost.js';
import { MlRangeError } from './errors.js';

// Six rows, worked by hand. Sorted by score: 0.1(y0) 0.3(y1) 0.4(y0) 0.6(y0) 0.7(y1) 0.9(y1).
const y = [0, 1, 0, 0, 1, 1];
const s = [0.1, 0.3, 0.4, 0.6, 0.7, 0.9];

describe('cost-sensitive thresholds', () => {
  it('totals a confusion matrix under a cost matrix', () => {
    expect(totalCost({ tp: 2, fp: 1, tn: 3, fn: 4 }, { tp: -1, fp: 2, tn: 0, fn: 5 })).toBe(-2 + 2 + 0 + 20);
  });

  it('sweeps every threshold: FP cost 1, FN cost 5', () => {
    const costs = { fp: 1, fn: 5, tp: 0, tn: 0 };
    const curve = costCurve(y, s, costs);
    // Below all: 3 FP = 3. Past 0.1: 2 FP = 2. Past 0.3: 2 FP + 1 FN = 7. Past 0.4: 1 FP + 1 FN = 6.
    // Past 0.6: 0 FP + 1 FN = 5. Past 0.7: 2 FN = 10. Past 0.9: 3 FN = 15.
    expect([...curve.costs]).toEqual([3, 2, 7, 6, 5, 10, 15]);
    expect(curve.thresholds[1]).toBeCloseTo(0.2, 12);
    expect(curve.thresholds[4]).toBeCloseTo(0.65, 12);
    const best = minCostThreshold(y, s, costs);
    expect(best.threshold).toBeCloseTo(0.2, 12);
    expect(best.cost).toBe(2);
    expect(best.confusion).toEqual({ tp: 3, fp: 2, tn: 1, fn: 0 });
    // The reported confusion is the one at the threshold.
    expect(best.confusion).toEqual(confusionMatrix(y, s, { threshold: best.threshold }));
  });

  it('moves the threshold up when false positives are the expensive mistake', () => {
    const best = minCostThreshold(y, s, { fp: 5, fn: 1, tp: 0, tn: 0 });
    // Past 0.6: 0 FP + 1 FN = 1, the only cost below 2 (past 0.7: 2 FN = 2, below all: 15).
    expect(best.threshold).toBeCloseTo(0.65, 12);
    expect(best.cost).toBe(1);
    expect(best.costPerRow).toBeCloseTo(1 / 6, 12);
  });

  it('breaks ties toward the Bayes threshold of the costs', () => {
    // Symmetric costs count errors: 3, 2, 3, 2, 1, 2, 3 along the curve, a unique best at 0.65.
    expect(minCostThreshold(y, s, { fp: 1, fn: 1, tp: 0, tn: 0 }).threshold).toBeCloseTo(0.65, 12);
    // All costs zero: every threshold ties, the one nearest 0.5 wins.
    expect(minCostThreshold(y, s, { fp: 0, fn: 0, tp: 0, tn: 0 }).threshold).toBeCloseTo(0.5, 12);
    expect(bayesThreshold({ fp: 1, fn: 5, tp: 0, tn: 0 })).toBeCloseTo(1 / 6, 12);
    expect(bayesThreshold({ fp: 1, fn: 1, tp: -1, tn: 0 })).toBeCloseTo(1 / 3, 12);
    expect(bayesThreshold({ fp: 0, fn: 0, tp: 0, tn: 0 })).toBe(0.5);
  });

  it('groups tied scores and refuses bad input', () => {
    const curve = costCurve([1, 0, 1], [0.5, 0.5, 0.8], { fp: 1, fn: 1, tp: 0, tn: 0 });
    expect([...curve.costs]).toEqual([1, 1, 2]);
    expect(() => costCurve([0, 2], [0.1, 0.2], { fp: 1, fn: 1, tp: 0, tn: 0 })).toThrow(MlRangeError);
    expect(() => costCurve([0, 1], [0.1, 0.2], { fp: Number.NaN, fn: 1, tp: 0, tn: 0 })).toThrow(/costs.fp/);
  });

  it('a stored threshold is used only when it is strictly between 0 and 1', () => {
    expect([0.31, 0, 1, -2, Number.NaN, undefined, null].map((t) => storedThreshold(t))).toEqual([0.31, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  });

  it('decides 1 at or above the threshold', () => {
    expect([...decisionsAt(s, 0.4)]).toEqual([0, 0, 1, 1, 1, 1]);
  });
});
