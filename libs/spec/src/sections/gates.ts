import { z } from 'zod';
import { businessMetricName } from './business-names.js';
import { columnName } from './common.js';

/** Metrics a gate can use: a binary head's, then a regression head's (`mae`, `rmse`, `r2`). */
export const metricName = z.enum(['accuracy', 'auc', 'logLoss', 'precision', 'recall', 'f1', 'brier', 'mae', 'rmse', 'r2']);

const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['logLoss', 'brier', 'mae', 'rmse']);

/** True for a metric where a smaller value is better (log loss, Brier, MAE, RMSE); gates, comparisons and triggers turn on it. */
export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.has(metric);
}

/** Metrics a champion comparison can use: the ones with a paired test (bootstrap, DeLong, McNemar). */
export const comparedMetric = z.enum(['accuracy', 'auc', 'logLoss', 'brier', 'mae', 'rmse', 'r2']);

/** The metrics of a regression head; every other gate metric belongs to a binary head. */
export const REGRESSION_METRICS: ReadonlySet<string> = new Set(['mae', 'rmse', 'r2']);

/**
 * One comparison with the champion, tested on the same test rows:
 * - `not-worse` (default): non-inferiority — the candidate must be shown not worse than the
 *   champion by more than `margin` (H0: candidate − champion ≤ −margin, oriented so that
 *   higher is better);
 * - `better`: superiority — the candidate must be shown better (H0: candidate − champion ≤ 0).
 * `slices: true` repeats the test in every declared slice (`evaluation.slices`) large enough
 * to judge; every comparison of the spec is one family for the Holm correction.
 */
export const championRule = z.strictObject({
  /** The metric compared: a built-in one or a declared business metric. Default auc. */
  metric: z.union([comparedMetric, businessMetricName]).default('auc'),
  /** Non-inferiority margin in metric units (ignored by `better`). Default 0. */
  margin: z.number().min(0).default(0),
  /** `not-worse` (non-inferiority, the default when left out) or `better` (superiority). */
  test: z.enum(['not-worse', 'better']).optional(),
  /** Also test in every declared slice. Default false. */
  slices: z.boolean().optional(),
});

/** Group-fairness disparity metrics (Fairlearn's between-group max − min). */
export const fairnessMetric = z.enum(['demographicParity', 'equalizedOdds']);

/**
 * A fairness limit: the candidate's disparity across the groups of `sensitive` (groups smaller
 * than `evaluation.minGroupSize` excluded) must be at most `max`, and, when there is a champion,
 * must not exceed the champion's by more than `tolerance` on the same rows.
 */
export const fairnessRule = z.strictObject({
  /** The sensitive column defining the groups (need not be a feature). */
  sensitive: columnName,
  /** demographicParity or equalizedOdds (differences). */
  metric: fairnessMetric,
  /** The largest disparity allowed. */
  max: z.number().min(0).max(1),
  /** How much worse than the champion's disparity the candidate's may be. Default 0.02. */
  tolerance: z.number().min(0).max(1).default(0.02),
});

/**
 * An individual-fairness limit on the consistency score (`evaluation.consistency`, 1 = every test
 * row gets the label of its nearest neighbours): the candidate's must be at least `min` and, when
 * there is a champion, not below the champion's (in the same space, on the same rows) by more than
 * `tolerance`.
 */
export const consistencyRule = z.strictObject({
  /** The lowest consistency allowed. */
  min: z.number().min(0).max(1),
  /** How much lower than the champion's the candidate's consistency may be. Default 0.02. */
  tolerance: z.number().min(0).max(1).default(0.02),
});

/**
 * A gate on the backtest (`evaluation.backtest`), comparing candidate and champion window by window
 * on past rows neither model trained on:
 * - `most-windows` (default): the candidate's `metric` is not worse than the champion's by more
 *   than `margin` (point estimates) in a strict majority of the windows large enough to judge;
 * - `pooled`: one paired non-inferiority test over the rows of all judged windows, at `gates.alpha`.
 */
export const backtestRule = z.strictObject({
  /** How the windows decide. Default most-windows. */
  rule: z.enum(['most-windows', 'pooled']).default('most-windows'),
  /** The metric compared. Default the first champion rule's when built in, else auc (rmse for a regression head). */
  metric: comparedMetric.optional(),
  /** Non-inferiority margin in metric units. Default 0. */
  margin: z.number().min(0).default(0),
});

/** `gates:` — what a candidate must show to be promoted. */
export const gatesSection = z.strictObject({
  /** Absolute floors every candidate must meet (for log loss, brier, mae, rmse and business metrics to minimize: ceilings). */
  floors: z.partialRecord(z.union([metricName, businessMetricName]), z.number()).default({ accuracy: 0.5 }),
  /** Comparison(s) with the champion on the same rows: one rule or a list. Default `{ metric: auc, margin: 0 }`. */
  champion: z.union([championRule, z.array(championRule).min(1)]).default({ metric: 'auc', margin: 0 }),
  /** Family-wise significance level of the champion comparisons (Holm-corrected). Default 0.05. */
  alpha: z.number().gt(0).lt(1).optional(),
  /** Fairness limits. Default none. */
  fairness: z.array(fairnessRule).optional(),
  /** An individual-fairness (consistency score) limit; computed with `evaluation.consistency` or its defaults. Default none. */
  consistency: consistencyRule.optional(),
  /** A gate on the backtest over past windows (needs `evaluation.backtest`). Default none. */
  backtest: backtestRule.optional(),
});

/** Defaults of `gates:` when it is left out. */
export const GATES_DEFAULTS = { floors: { accuracy: 0.5 }, champion: { metric: 'auc', margin: 0 } } as const;

/** Defaults of `gates:` when it is left out and the model has a regression head: no floor, RMSE not worse than the champion's. */
export const REGRESSION_GATES_DEFAULTS = { floors: {}, champion: { metric: 'rmse', margin: 0 } } as const;
