import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MlRangeError, averagePrecision, calibrationCurve, createRng, expectedCalibrationError, precisionRecallCurve, rocAuc, rocCurve } from './index.js';

/** Trapezoid area under (x, y). */
function trapezoid(x: number[], y: number[]): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return a;
}

/** Labels and scores with both classes; scores drawn from few values so ties are common. */
const labelled = fc
  .array(fc.record({ y: fc.constantFrom<number>(0, 1), s: fc.oneof(fc.integer({ min: 0, max: 8 }).map((k) => k / 8), fc.double({ min: 0, max: 1, noNaN: true })) }), { minLength: 2, maxLength: 400 })
  .filter((rows) => rows.some((r) => r.y === 1) && rows.some((r) => r.y === 0))
  .map((rows) => ({ y: rows.map((r) => r.y), s: rows.map((r) => r.s) }));

const SEEDED = { seed: 20_261_206, numRuns: 300 };

/** n rows of a weak classifier: positives score higher on average; scores are distinct. */
function weakClassifier(n: number, seed: number): { y: number[]; s: number[] } {
  const rng = createRng(seed);
  const y = Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0));
  const s = y.map((v) => Math.min(1, Math.max(0, 0.5 * rng() + 0.25 * v + 0.25 * rng())));
  return { y, s };
}

describe('rocCurve', () => {
  it('matches sklearn roc_curve(drop_intermediate=False) on a worked example', () => {
    const c = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(c.thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(c.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
  });

  it('gives one point per distinct threshold: tied rows of both classes make one diagonal step', () => {
    const c = rocCurve([0, 1, 0, 1, 1], [3, 3, 3, 3, 3]);
    expect(c).toEqual({ fpr: [0, 1], tpr: [0, 1], thresholds: [Infinity, 3] });
    expect(trapezoid(c.fpr, c.tpr)).toBe(0.5);
    const d = rocCurve([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1]);
    expect(d.thresholds).toEqual([Infinity, 0.9, 0.5, 0.1]);
    expect(d.fpr).toEqual([0, 0, 0.5, 1]);
    expect(d.tpr).toEqual([0, 0.5, 1, 1]);
  });

  it('has a trapezoid area equal to rocAuc (to 1e-9) on random data, ties included', () => {
    fc.assert(
      fc.property(labelled, ({ y, s }) => {
        const c = rocCurve(y, s, { maxPoints: Infinity });
        expect(Math.abs(trapezoid(c.fpr, c.tpr) - rocAuc(y, s))).toBeLessThan(1e-9);
        expect(new Set(c.thresholds).size).toBe(c.thresholds.length);
        expect(c.thresholds.length).toBe(new Set(s).size + 1);
      }),
      SEEDED,
    );
  });

  it('downsamples a long curve to maxPoints, keeping both ends, order and (nearly) the area', () => {
    const { y, s } = weakClassifier(20_000, 7);
    const full = rocCurve(y, s, { maxPoints: Infinity });
    expect(full.fpr.length).toBeGreaterThan(10_000);
    const c = rocCurve(y, s);
    expect(c.fpr.length).toBe(200);
    expect([c.fpr[0], c.tpr[0], c.fpr.at(-1), c.tpr.at(-1)]).toEqual([0, 0, 1, 1]);
    for (let i = 1; i < c.fpr.length; i++) {
      expect(c.fpr[i]).toBeGreaterThanOrEqual(c.fpr[i - 1]);
      expect(c.tpr[i]).toBeGreaterThanOrEqual(c.tpr[i - 1]);
      expect(c.thresholds[i]).toBeLessThan(c.thresholds[i - 1]);
    }
    // Every kept point is a point of the full curve (exact for its threshold).
    const at = new Map(full.thresholds.map((t, i) => [t, i]));
    c.thresholds.forEach((t, i) => expect([c.fpr[i], c.tpr[i]]).toEqual([full.fpr[at.get(t) as number], full.tpr[at.get(t) as number]]));
    expect(Math.abs(trapezoid(c.fpr, c.tpr) - rocAuc(y, s))).toBeLessThan(1e-3);
  });

  it('returns an empty curve for a single class and rejects bad input', () => {
    expect(rocCurve([1, 1, 1], [0.2, 0.3, 0.4])).toEqual({ fpr: [], tpr: [], thresholds: [] });
    expect(rocCurve([0, 0], [0.2, 0.3])).toEqual({ fpr: [], tpr: [], thresholds: [] });
    expect(() => rocCurve([0, 1], [0.2])).toThrow(MlRangeError);
    expect(() => rocCurve([0, 1], [0.2, Number.NaN])).toThrow(/rocCurve: scores\[1\] is NaN/);
    expect(() => rocCurve([0, 2], [0.2, 0.3])).toThrow(/expected 0 or 1/);
    expect(() => rocCurve([0, 1], [0.2, 0.3], { maxPoints: 1 })).toThrow(/maxPoints/);
  });
});

describe('precisionRecallCurve', () => {
  it('matches sklearn precision_recall_curve (read backwards) on a worked example', () => {
    const c = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(c.thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(c.recall).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(c.precision).toEqual([1, 1, 0.5, 2 / 3, 0.5]);
  });

  it('sums to averagePrecision step-wise on random data', () => {
    fc.assert(
      fc.property(labelled, ({ y, s }) => {
        const c = precisionRecallCurve(y, s, { maxPoints: Infinity });
        let ap = 0;
        for (let k = 1; k < c.recall.length; k++) ap += (c.recall[k] - c.recall[k - 1]) * c.precision[k];
        expect(Math.abs(ap - averagePrecision(y, s))).toBeLessThan(1e-9);
        expect(c.recall.at(-1)).toBe(1);
      }),
      SEEDED,
    );
  });

  it('downsamples to maxPoints keeping (0, 1) and full recall', () => {
    const { y, s } = weakClassifier(5000, 11);
    const c = precisionRecallCurve(y, s, { maxPoints: 50 });
    expect(c.recall.length).toBe(50);
    expect([c.recall[0], c.precision[0], c.recall.at(-1)]).toEqual([0, 1, 1]);
  });

  it('is empty without positives and precision 1 without negatives', () => {
    expect(precisionRecallCurve([0, 0, 0], [0.1, 0.2, 0.3])).toEqual({ recall: [], precision: [], thresholds: [] });
    const c = precisionRecallCurve([1, 1, 1], [0.1, 0.2, 0.2]);
    expect(c.recall).toEqual([0, 2 / 3, 1]);
    expect(c.precision).toEqual([1, 1, 1]);
  });
});

describe('calibrationCurve', () => {
  it('bins right-closed on [0, 1] and leaves empty bins out', () => {
    const c = calibrationCurve([0, 1, 1, 0, 1], [0, 0.1, 0.15, 0.9, 1], 10);
    // 0 and 0.1 share the first bin [0, 0.1]; 0.9 closes (0.8, 0.9], 1 is alone in (0.9, 1].
    expect(c.count).toEqual([2, 1, 1, 1]);
    expect(c.predicted).toEqual([0.05, 0.15, 0.9, 1]);
    expect(c.observed).toEqual([0.5, 1, 0, 1]);
  });

  it('agrees with expectedCalibrationError and accounts for every row', () => {
    fc.assert(
      fc.property(labelled, fc.integer({ min: 1, max: 20 }), ({ y, s }, bins) => {
        const c = calibrationCurve(y, s, bins);
        const n = c.count.reduce((a, b) => a + b, 0);
        expect(n).toBe(y.length);
        expect(c.count.length).toBeLessThanOrEqual(bins);
        const positives = c.count.reduce((a, k, i) => a + k * c.observed[i], 0);
        expect(positives).toBeCloseTo(y.reduce((a, b) => a + b, 0), 9);
        const ece = c.count.reduce((a, k, i) => a + k * Math.abs(c.observed[i] - c.predicted[i]), 0) / n;
        expect(Math.abs(ece - expectedCalibrationError(y, s, { bins }))).toBeLessThan(1e-9);
      }),
      SEEDED,
    );
  });

  it('works with one class and rejects scores that are not probabilities', () => {
    expect(calibrationCurve([0, 0], [0.2, 0.7], 2)).toEqual({ predicted: [0.2, 0.7], observed: [0, 0], count: [1, 1] });
    expect(() => calibrationCurve([0, 1], [0.2, 1.5])).toThrow(/expected a probability/);
    expect(() => calibrationCurve([0, 1], [0.2, 0.5], 0)).toThrow(/bins/);
  });
});
