import { createResampler, mae, quantileSorted, r2, rmse } from '@refit/ml';

/** The metrics of a regression head. */
export type RegressionMetric = 'mae' | 'rmse' | 'r2';

/** Whether a compared metric belongs to a regression head. */
export const isRegressionMetric = (m: string): m is RegressionMetric => m === 'mae' || m === 'rmse' || m === 'r2';

/** MAE, RMSE and R² of predicted values against numeric targets (libs/ml, scikit-learn definitions). */
export function regressionMetrics(y: ArrayLike<number>, pred: ArrayLike<number>): Record<RegressionMetric, number> {
  if (y.length === 0) return { mae: Number.NaN, rmse: Number.NaN, r2: Number.NaN };
  return { mae: mae(y, pred), rmse: rmse(y, pred), r2: r2(y, pred) };
}

type Weighted = (w: Uint32Array) => number;

// The metric with every row counted w[i] times, so a resample costs one pass and no copy.
function weighted(metric: RegressionMetric, y: ArrayLike<number>, pred: ArrayLike<number>): Weighted {
  const n = y.length;
  return (w) => {
    let total = 0;
    let abs = 0;
    let sq = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      const e = y[i] - pred[i];
      total += w[i];
      abs += w[i] * Math.abs(e);
      sq += w[i] * e * e;
      sy += w[i] * y[i];
    }
    if (metric === 'mae') return abs / total;
    if (metric === 'rmse') return Math.sqrt(sq / total);
    const mean = sy / total;
    let ssTot = 0;
    for (let i = 0; i < n; i++) ssTot += w[i] * (y[i] - mean) ** 2;
    // scikit-learn's force_finite: a constant target gives 1 for a perfect fit, else 0.
    if (ssTot === 0) return sq === 0 ? 1 : 0;
    return 1 - sq / ssTot;
  };
}

/** Options of {@link pairedRegressionBootstrap}. */
export type RegressionBootstrapOptions = { metric: RegressionMetric; resamples: number; seed: number; confidence: number };

/** The paired bootstrap of metric(B) − metric(A) on the same rows (the shape of libs/ml's `pairedBootstrap`). */
export type RegressionBootstrap = { estimateA: number; estimateB: number; difference: number; lower: number; upper: number; standardError: number };

/**
 * Seeded paired bootstrap for a regression metric: rows are resampled with replacement (the same
 * rows for both models, libs/ml's resampler) and the percentile interval of metric(B) − metric(A)
 * is returned with the standard deviation of the resampled differences.
 * @param y - numeric targets; a - champion predictions; b - candidate predictions.
 */
export function pairedRegressionBootstrap(y: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, opts: RegressionBootstrapOptions): RegressionBootstrap {
  const n = y.length;
  const fa = weighted(opts.metric, y, a);
  const fb = weighted(opts.metric, y, b);
  const ones = new Uint32Array(n).fill(1);
  const estimateA = fa(ones);
  const estimateB = fb(ones);
  const resample = createResampler(opts.seed);
  const w = new Uint32Array(n);
  const diffs = new Float64Array(opts.resamples);
  for (let r = 0; r < opts.resamples; r++) {
    resample(w);
    diffs[r] = fb(w) - fa(w);
  }
  diffs.sort();
  let mean = 0;
  for (const d of diffs) mean += d;
  mean /= diffs.length;
  let ss = 0;
  for (const d of diffs) ss += (d - mean) ** 2;
  const alpha = 1 - opts.confidence;
  return {
    estimateA,
    estimateB,
    difference: estimateB - estimateA,
    lower: quantileSorted(diffs, alpha / 2),
    upper: quantileSorted(diffs, 1 - alpha / 2),
    standardError: diffs.length > 1 ? Math.sqrt(ss / (diffs.length - 1)) : 0,
  };
}
