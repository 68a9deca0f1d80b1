// Sufficient statistics of a sample of per-row values (a loss, a score, 0/1 correctness) for
// tests on its mean: count, mean and the sum of squared deviations. Mergeable, so samples can be
// fed batch by batch and kept as JSON.
import { MlRangeError } from './errors.js';
import { assertFinite, assertOption } from './validate.js';

/** Count, mean and sum of squared deviations from the mean (M2) of a sample. */
export interface MeanStats {
  /** Number of rows (0 for an empty sample). */
  n: number;
  /** Mean of the rows (0 for an empty sample). */
  mean: number;
  /** Σ (x − mean)² (0 for fewer than two rows). */
  m2: number;
}

/** The statistics of an empty sample. */
export const EMPTY_MEAN_STATS: MeanStats = Object.freeze({ n: 0, mean: 0, m2: 0 });

/**
 * Statistics of the rows `values` (Welford's one-pass update, stable for large means).
 * @param values - finite numbers; may be empty.
 */
export function meanStats(values: ArrayLike<number>): MeanStats {
  const n = assertFinite(values, 'meanStats', 'values', true);
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    mean += d / (i + 1);
    m2 += d * (values[i] - mean);
  }
  return { n, mean, m2 };
}

/**
 * Statistics from a count, the sum and the sum of squares of the rows, e.g. from SQL
 * (`count(*)`, `sum(x)`, `sum(x*x)`) or a monitoring window. M2 = Σx² − (Σx)²/n, clamped at 0
 * against rounding.
 * @param n - number of rows, an integer ≥ 0.
 * @param sum - Σx.
 * @param sumSquares - Σx².
 */
export function meanStatsFromSums(n: number, sum: number, sumSquares: number): MeanStats {
  assertOption(n, (x) => Number.isInteger(x) && x >= 0, 'meanStatsFromSums', 'n', 'an integer >= 0');
  assertOption(sum, Number.isFinite, 'meanStatsFromSums', 'sum', 'a finite number');
  assertOption(sumSquares, (x) => Number.isFinite(x) && x >= 0, 'meanStatsFromSums', 'sumSquares', 'a finite number >= 0');
  if (n === 0) {
    if (sum !== 0 || sumSquares !== 0) throw new MlRangeError('meanStatsFromSums: sums of an empty sample must be 0');
    return { ...EMPTY_MEAN_STATS };
  }
  const mean = sum / n;
  return { n, mean, m2: Math.max(0, sumSquares - sum * mean) };
}

/**
 * Statistics of `n` rows of 0/1 values of which `ones` are 1 (e.g. correct predictions): mean
 * ones/n, M2 = ones·(n − ones)/n.
 * @param ones - integer in [0, n].
 * @param n - integer ≥ 0.
 */
export function bernoulliStats(ones: number, n: number): MeanStats {
  assertOption(n, (x) => Number.isInteger(x) && x >= 0, 'bernoulliStats', 'n', 'an integer >= 0');
  assertOption(ones, (x) => Number.isInteger(x) && x >= 0 && x <= n, 'bernoulliStats', 'ones', `an integer in [0, ${n}]`);
  if (n === 0) return { ...EMPTY_MEAN_STATS };
  return { n, mean: ones / n, m2: (ones * (n - ones)) / n };
}

/**
 * The statistics of two samples pooled (Chan, Golub & LeVeque's parallel update).
 */
export function mergeMeanStats(a: MeanStats, b: MeanStats): MeanStats {
  checkStats(a, 'mergeMeanStats', 'a');
  checkStats(b, 'mergeMeanStats', 'b');
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  return { n, mean: a.mean + (d * b.n) / n, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
}

/** Unbiased sample variance M2 / (n − 1); null below two rows. */
export function sampleVariance(s: MeanStats): number | null {
  return s.n >= 2 ? s.m2 / (s.n - 1) : null;
}

/** Throws unless `s` is a well-formed {@link MeanStats}. */
export function checkStats(s: MeanStats, fn: string, name: string): void {
  if (s === null || typeof s !== 'object') throw new MlRangeError(`${fn}: ${name} must be { n, mean, m2 }`);
  assertOption(s.n, (x) => Number.isInteger(x) && x >= 0, fn, `${name}.n`, 'an integer >= 0');
  assertOption(s.mean, Number.isFinite, fn, `${name}.mean`, 'a finite number');
  assertOption(s.m2, (x) => Number.isFinite(x) && x >= 0, fn, `${name}.m2`, 'a finite number >= 0');
}
