// Seeded paired bootstrap for the difference of a metric between two models on the same rows.
// Built-in metrics are evaluated with resampling weights (counts) over rows pre-sorted once,
// so each resample costs O(n) instead of a fresh sort.
import { MlRangeError, MlTypeError } from './errors.js';
import { quantileSorted } from './quantile.js';
import { createResampler } from './random.js';
import { assertBinaryLabels, assertFinite, assertInt, assertOption, assertProbabilities, assertSameLength } from './validate.js';

/** Metrics with a fast weighted implementation. */
export type BuiltinMetric = 'rocAuc' | 'accuracy' | 'logLoss' | 'brier';

/** A custom metric: returns a finite number, or null/NaN when undefined for a resample. */
export type MetricFn = (yTrue: Float64Array, pred: Float64Array) => number | null;

/** Options of {@link pairedBootstrap}. */
export interface PairedBootstrapOptions {
  /** Metric name or function; default "rocAuc". */
  metric?: BuiltinMetric | MetricFn;
  /** Number of resamples; default 1000. */
  resamples?: number;
  /** RNG seed (see `createRng`); default 0. */
  seed?: number;
  /** Two-sided confidence level of the percentile interval; default 0.95. */
  confidence?: number;
  /** Threshold for "accuracy" (positive when score >= threshold); default 0.5. */
  threshold?: number;
}

/** Result of {@link pairedBootstrap}. */
export interface PairedBootstrapResult {
  metric: string;
  /** Metric of A and B on the full data. */
  estimateA: number;
  estimateB: number;
  /** estimateB - estimateA. */
  difference: number;
  /** Percentile interval of the resampled differences. */
  lower: number;
  upper: number;
  /** Standard deviation of the resampled differences. */
  standardError: number;
  confidence: number;
  resamples: number;
  /** Resamples where the metric was defined for both models (e.g. AUC needs both classes). */
  validResamples: number;
  seed: number;
}

type Weighted = (w: Uint32Array) => number | null;

function sortedOrder(s: ArrayLike<number>): { order: Uint32Array; groupEnd: Uint8Array } {
  const n = s.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[a] - s[b]);
  const groupEnd = new Uint8Array(n);
  for (let k = 0; k < n; k++) groupEnd[k] = k === n - 1 || s[order[k + 1]] !== s[order[k]] ? 1 : 0;
  return { order, groupEnd };
}

function weightedAuc(y: ArrayLike<number>, s: ArrayLike<number>): Weighted {
  const { order, groupEnd } = sortedOrder(s);
  const n = order.length;
  // Labels in score order: avoids a second random access per row in the hot loop.
  const ys = Float64Array.from(order, (i) => (y[i] === 1 ? 1 : 0));
  let ties = false;
  for (let k = 0; k < n; k++) if (!groupEnd[k]) ties = true;
  if (!ties) {
    // All scores distinct: a branch-free pass (labels are random, so branches mispredict).
    return (w) => {
      let u = 0;
      let negBelow = 0;
      let P = 0;
      for (let k = 0; k < n; k++) {
        const wi = w[order[k]];
        const wp = wi * ys[k];
        u += wp * negBelow;
        P += wp;
        negBelow += wi - wp;
      }
      return P === 0 || negBelow === 0 ? null : u / (P * negBelow);
    };
  }
  return (w) => {
    let u = 0;
    let negBelow = 0;
    let gp = 0;
    let gn = 0;
    let P = 0;
    for (let k = 0; k < n; k++) {
      const wi = w[order[k]];
      const wp = wi * ys[k];
      gp += wp;
      gn += wi - wp;
      if (groupEnd[k]) {
        // Mann-Whitney with midranks, every row counted w times.
        u += gp * (negBelow + 0.5 * gn);
        negBelow += gn;
        P += gp;
        gp = 0;
        gn = 0;
      }
    }
    return P === 0 || negBelow === 0 ? null : u / (P * negBelow);
  };
}

function weightedMean(values: Float64Array): Weighted {
  return (w) => {
    let s = 0;
    let t = 0;
    for (let i = 0; i < values.length; i++) {
      s += w[i] * values[i];
      t += w[i];
    }
    return s / t;
  };
}

function perRow(y: ArrayLike<number>, p: ArrayLike<number>, metric: BuiltinMetric, threshold: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    if (metric === 'accuracy') out[i] = (p[i] >= threshold ? 1 : 0) === y[i] ? 1 : 0;
    else if (metric === 'brier') out[i] = (p[i] - y[i]) ** 2;
    else {
      const q = Math.min(Math.max(p[i], 1e-15), 1 - 1e-15);
      out[i] = y[i] === 1 ? -Math.log(q) : -Math.log1p(-q);
    }
  }
  return out;
}

function customWeighted(fn: MetricFn, y: ArrayLike<number>, p: ArrayLike<number>): Weighted {
  return (w) => {
    let total = 0;
    for (let i = 0; i < w.length; i++) total += w[i];
    const yy = new Float64Array(total);
    const pp = new Float64Array(total);
    let k = 0;
    for (let i = 0; i < w.length; i++) {
      for (let r = 0; r < w[i]; r++) {
        yy[k] = y[i];
        pp[k++] = p[i];
      }
    }
    const v = fn(yy, pp);
    return v === null || !Number.isFinite(v) ? null : v;
  };
}

/**
 * Seeded paired bootstrap of metric(B) - metric(A): rows are resampled with replacement (the
 * same rows for both models), and the percentile interval of the differences is returned.
 * Resamples where the metric is undefined (e.g. a single class for AUC) are skipped and
 * counted; if fewer than half are valid an error is thrown.
 * @param yTrue - 0/1 labels; predA - champion scores; predB - challenger scores.
 * @param opts - metric (default "rocAuc"), resamples (1000), seed (0), confidence (0.95),
 *   threshold (0.5, for "accuracy").
 */
export function pairedBootstrap(
  yTrue: ArrayLike<number>,
  predA: ArrayLike<number>,
  predB: ArrayLike<number>,
  opts: PairedBootstrapOptions = {},
): PairedBootstrapResult {
  const fn = 'pairedBootstrap';
  const metric = opts.metric ?? 'rocAuc';
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 0;
  const confidence = opts.confidence ?? 0.95;
  const threshold = opts.threshold ?? 0.5;
  assertInt(resamples, 1, fn, 'resamples');
  assertOption(confidence, (c) => c > 0 && c < 1, fn, 'confidence', 'a number in (0, 1)');
  assertOption(seed, Number.isFinite, fn, 'seed', 'a finite number');
  assertBinaryLabels(yTrue, fn, 'yTrue');
  assertSameLength(yTrue, predA, fn, 'yTrue', 'predA');
  assertSameLength(yTrue, predB, fn, 'yTrue', 'predB');
  const n = yTrue.length;
  let fa: Weighted;
  let fb: Weighted;
  if (typeof metric === 'function') {
    assertFinite(predA, fn, 'predA');
    assertFinite(predB, fn, 'predB');
    fa = customWeighted(metric, yTrue, predA);
    fb = customWeighted(metric, yTrue, predB);
  } else if (metric === 'rocAuc' || metric === 'accuracy') {
    assertFinite(predA, fn, 'predA');
    assertFinite(predB, fn, 'predB');
    fa = metric === 'rocAuc' ? weightedAuc(yTrue, predA) : weightedMean(perRow(yTrue, predA, metric, threshold));
    fb = metric === 'rocAuc' ? weightedAuc(yTrue, predB) : weightedMean(perRow(yTrue, predB, metric, threshold));
  } else if (metric === 'logLoss' || metric === 'brier') {
    assertProbabilities(predA, fn, 'predA');
    assertProbabilities(predB, fn, 'predB');
    fa = weightedMean(perRow(yTrue, predA, metric, threshold));
    fb = weightedMean(perRow(yTrue, predB, metric, threshold));
  } else {
    throw new MlTypeError(`${fn}: option metric is ${String(metric)}, expected "rocAuc", "accuracy", "logLoss", "brier" or a function`);
  }
  const ones = new Uint32Array(n).fill(1);
  const estimateA = fa(ones);
  const estimateB = fb(ones);
  if (estimateA === null || estimateB === null) throw new MlRangeError(`${fn}: the metric is undefined on the full data (single class?)`);
  const resample = createResampler(seed);
  const w = new Uint32Array(n);
  const diffs = new Float64Array(resamples);
  let valid = 0;
  for (let r = 0; r < resamples; r++) {
    resample(w);
    const a = fa(w);
    const b = fb(w);
    if (a === null || b === null) continue;
    diffs[valid++] = b - a;
  }
  if (valid < resamples / 2) throw new MlRangeError(`${fn}: the metric was undefined in ${resamples - valid} of ${resamples} resamples`);
  const d = diffs.subarray(0, valid).sort();
  const alpha = 1 - confidence;
  let mean = 0;
  for (let i = 0; i < valid; i++) mean += d[i];
  mean /= valid;
  let ss = 0;
  for (let i = 0; i < valid; i++) ss += (d[i] - mean) ** 2;
  return {
    metric: typeof metric === 'function' ? metric.name || 'custom' : metric,
    estimateA,
    estimateB,
    difference: estimateB - estimateA,
    lower: quantileSorted(d, alpha / 2),
    upper: quantileSorted(d, 1 - alpha / 2),
    standardError: valid > 1 ? Math.sqrt(ss / (valid - 1)) : 0,
    confidence,
    resamples,
    validResamples: valid,
    seed,
  };
}
