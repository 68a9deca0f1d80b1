import { z } from 'zod';
import { columnName } from './common.js';

/**
 * `evaluation:` — what the evaluator reports besides the overall metrics: per-slice metrics,
 * per-group fairness, a recent-window holdout, and the sample sizes below which it will not judge.
 */
export const evaluationSection = z.strictObject({
  /** Categorical columns whose values get their own metrics (and champion tests when asked). Default none. */
  slices: z.array(columnName).default([]),
  /** Sensitive columns reported with per-group rates and disparities. Default none. */
  sensitive: z.array(columnName).default([]),
  /** Groups and slices with fewer rows are reported but never judged. Default 30. */
  minGroupSize: z.number().int().min(1).default(30),
  /** Fewer paired test rows than this make a champion comparison inconclusive. Default 30. */
  minSamples: z.number().int().min(1).default(30),
  /** Bootstrap resamples for intervals. Default 1000. */
  resamples: z.number().int().min(100).max(20_000).default(1000),
  /** Also score both models on the test rows of the last `lastDays` days (by the date column `column`). */
  holdout: z.strictObject({ column: columnName, lastDays: z.number().int().min(1) }).optional(),
  /**
   * Individual fairness: the consistency score (Zemel et al. 2013) of both models' predicted labels,
   * from each test row's `k` nearest neighbours in the candidate's transformed feature space with
   * the features of the `exclude` columns left out, overall and per group of each excluded column.
   * Binary head only. Default none (on when `gates.consistency` is set).
   */
  consistency: z
    .strictObject({
      /** Neighbours per row. Default 5. */
      k: z.number().int().min(1).max(100).default(5),
      /** Columns whose features are left out of the distance. Default `sensitive` plus the fairness rules' columns. */
      exclude: z.array(columnName).optional(),
    })
    .optional(),
  /** Also score both models on each of the last `windows` windows of past data. Default none. */
  backtest: z
    .strictObject({
      /** How many windows, counted back from the newest row of the history. */
      windows: z.number().int().min(1).max(200),
      /** Length of one window in days. */
      days: z.number().int().min(1),
      /** The date column that places a row in a window. Default schema.timestamp. */
      column: columnName.optional(),
      /** A window with fewer rows (that neither model trained on) is reported but not judged. Default 30. */
      minRows: z.number().int().min(1).default(30),
    })
    .optional(),
});

/** Defaults of `evaluation:` when it is left out. */
export const EVALUATION_DEFAULTS: z.output<typeof evaluationSection> = { slices: [], sensitive: [], minGroupSize: 30, minSamples: 30, resamples: 1000 };
