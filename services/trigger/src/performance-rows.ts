import { bernoulliStats, meanStatsFromSums, type MeanStats } from '@refit/ml';
import { compileExpression, evaluateOnCounts, type PipelineSpec } from '@refit/spec';

/** A monitoring window as the performance policy reads it. */
export type PerformanceWindow = {
  version: string;
  windowEnd: string;
  /** Predictions whose feedback arrived in the window. */
  labeled: number;
  /** The window's metrics, with the spec's business metrics of counts added. */
  metrics: Readonly<Record<string, number>>;
  /** Σx and Σx² of the per-row values of accuracy, logLoss and brier (deployer's `row_sums`); may be empty. */
  rowSums: Readonly<Record<string, { sum: number; sumSquares: number }>>;
  /** The version no longer served as the champion when the window closed (late labels of a replaced model). */
  retired?: boolean;
};

/** The value one row adds to a business metric, by the row's outcome. */
export type OutcomeValues = { tp: number; fp: number; tn: number; fn: number };

/** How one window's labelled rows enter the test. */
export type WindowRows =
  /** A sample of per-row values; `bernoulli` for 0/1 rows. `note` says when its variance is a bound. */
  | { kind: 'rows'; rows: MeanStats; variance: 'sample' | 'bernoulli'; note?: string }
  /** The metric is a mean of per-row values, but this window does not carry what the test needs. */
  | { kind: 'missing'; why: string }
  /** The metric is not a mean of per-row values (AUC, a ratio of counts): no sequential test. */
  | { kind: 'not-a-mean'; value: number | null };

const OUTCOMES = ['tp', 'fp', 'tn', 'fn'] as const;

/**
 * The per-row values of a business metric when it is the mean of a value that depends only on
 * the row's outcome (e.g. `1000 * cost / n`): each outcome's value is the metric of one row with
 * that outcome, and the metric must equal Σ count·value / n on several unrelated counts. Null for
 * anything else (a total such as `cost`, a ratio such as `tp / (tp + fp)`).
 */
export function outcomeValues(spec: Pick<PipelineSpec, 'business'>, metric: string): OutcomeValues | null {
  const m = spec.business?.metrics[metric];
  if (!m) return null;
  const expr = compileExpression(m.expr);
  if (expr.columns.length > 0) return null;
  const costs = spec.business?.costs ?? { tp: 0, fp: 0, tn: 0, fn: 0 };
  const one = (o: (typeof OUTCOMES)[number]) => evaluateOnCounts(expr, { tp: 0, fp: 0, tn: 0, fn: 0, [o]: 1 }, costs);
  const values = { tp: one('tp'), fp: one('fp'), tn: one('tn'), fn: one('fn') };
  if (!OUTCOMES.every((o) => Number.isFinite(values[o]))) return null;
  for (const counts of [
    { tp: 3, fp: 5, tn: 7, fn: 11 },
    { tp: 40, fp: 1, tn: 2, fn: 0 },
    { tp: 0, fp: 9, tn: 130, fn: 17 },
  ]) {
    const n = counts.tp + counts.fp + counts.tn + counts.fn;
    const mean = OUTCOMES.reduce((s, o) => s + counts[o] * values[o], 0) / n;
    const got = evaluateOnCounts(expr, counts, costs);
    if (!(Math.abs(got - mean) <= 1e-9 * Math.max(1, Math.abs(mean)))) return null;
  }
  return values;
}

/**
 * The labelled rows of a window as a sample of the metric's per-row values: accuracy from the
 * per-row sums (or the confusion counts), log loss and Brier from the per-row sums, a business
 * metric that is a mean per row from the confusion counts. AUC and other business metrics are
 * not means of per-row values.
 */
export function windowRows(metric: string, w: PerformanceWindow, business: OutcomeValues | null): WindowRows {
  const n = w.labeled;
  const sums = w.rowSums[metric];
  if (metric === 'accuracy') {
    const { tp, tn } = w.metrics;
    const right = sums ? Math.round(sums.sum) : tp !== undefined && tn !== undefined ? tp + tn : w.metrics.accuracy !== undefined ? Math.round(w.metrics.accuracy * n) : undefined;
    if (right === undefined) return { kind: 'missing', why: 'no accuracy in the window' };
    return { kind: 'rows', rows: bernoulliStats(Math.min(n, Math.max(0, right)), n), variance: 'bernoulli' };
  }
  if (metric === 'logLoss' || metric === 'brier') {
    if (sums) return { kind: 'rows', rows: meanStatsFromSums(n, sums.sum, sums.sumSquares), variance: 'sample' };
    const mean = w.metrics[metric];
    // Brier rows lie in [0, 1], where Σx² ≤ Σx: taking Σx² = Σx gives the largest variance the
    // mean allows, so a window from a deployer without per-row sums is still tested, conservatively.
    if (metric === 'brier' && mean !== undefined) return { kind: 'rows', rows: meanStatsFromSums(n, mean * n, mean * n), variance: 'sample', note: 'variance bounded from the mean (no per-row sums in the window)' };
    return { kind: 'missing', why: `the window carries no per-row sums of ${metric} (sent by deployers since row_sums was added)` };
  }
  if (business) {
    const counts = OUTCOMES.map((o) => w.metrics[o]);
    if (counts.some((c) => c === undefined)) return { kind: 'missing', why: 'the window carries no confusion counts' };
    const total = counts.reduce((a, b) => a + b, 0);
    const sum = OUTCOMES.reduce((s, o, i) => s + counts[i] * business[o], 0);
    const sumSquares = OUTCOMES.reduce((s, o, i) => s + counts[i] * business[o] * business[o], 0);
    return { kind: 'rows', rows: meanStatsFromSums(total, sum, sumSquares), variance: 'sample' };
  }
  return { kind: 'not-a-mean', value: w.metrics[metric] ?? null };
}
