/**
 * The parts of a pipeline spec this library consumes. Types only: validation of the whole spec
 * belongs to the spec parser; this library re-checks only what would otherwise fail obscurely.
 */

/** Date parts a `dateparts` feature can produce (UTC), each scaled to [0, 1]. */
export type DatePart = 'hour' | 'dayOfWeek' | 'month';

/**
 * How a missing value of a feature is filled, fitted on the training split: `mean` (the default
 * for numbers), `median`, `mode` (most frequent), or `constant` with `value`. Categories default to
 * the `__other__` slot; `mode` or `constant` fill them with a category instead.
 */
export type ImputeSpec = { strategy: 'mean' | 'median' | 'mode' | 'constant'; value?: number | string };

/**
 * One input feature. `transform` defaults to `'standardize'` for numbers, `'onehot'` for
 * categories and `'dateparts'` for dates; `'none'` on a number passes it through (missing values
 * filled with the training mean). `'onehot'` on a number treats its distinct values as categories
 * (e.g. a weekday code).
 *
 * Numbers: `standardize` ((x − mean) / std), `minmax` ((x − min) / (max − min), so the training
 * range maps to [0, 1]), `log1p` (log(1 + x), negatives taken as 0), `bucketize` (one slot per
 * interval between `boundaries`), `none`. `clip` bounds a value before anything else (and before
 * fitting). Categories: `onehot` (optionally the `topK` most frequent, the rest in `__other__`) or
 * `hash` (`buckets` slots, default 32, by FNV-1a of the value). Dates: `dateparts` (`parts`,
 * default hour, dayOfWeek and month). `missingIndicator` adds a 0/1 column that is 1 when the raw
 * value was missing.
 */
export type FeatureSpec = {
  name: string;
  type: 'number' | 'category' | 'date';
  transform?: 'standardize' | 'minmax' | 'log1p' | 'bucketize' | 'onehot' | 'hash' | 'dateparts' | 'none';
  clip?: { min?: number; max?: number };
  impute?: ImputeSpec;
  missingIndicator?: boolean;
  boundaries?: number[];
  topK?: number;
  buckets?: number;
  parts?: DatePart[];
};

/**
 * The label column. With `positive`, the label is 1 when the row's value satisfies the rule
 * (normally one key; if several are given, all must hold). Without `positive` the column must
 * already hold 0/1/true/false (numbers, booleans, or those strings).
 */
export type LabelSpec = {
  column: string;
  positive?: {
    gt?: number;
    gte?: number;
    lt?: number;
    eq?: string | number | boolean;
    in?: Array<string | number>;
  };
};

/** Early stopping on the validation loss (the training loss when there is no validation split). */
export type EarlyStoppingSpec = {
  /** Epochs without an improvement of at least `minDelta` before training stops. */
  patience: number;
  /** Smallest decrease of the monitored loss that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Put back the weights of the best epoch when training stops. Default true. */
  restoreBest?: boolean;
};

/** Per-class loss weights for imbalanced labels; `'balanced'` weighs each class by n / (2 · its count). */
export type ClassWeightSpec = 'none' | 'balanced' | { negative: number; positive: number };

/**
 * The model to train. Defaults: `head` 'binary' (sigmoid output, cross-entropy) — 'regression' is a
 * linear output for numeric targets with `loss` 'mse' (or 'mae'); `hidden` [16] (mlp only),
 * `activation` 'relu', `dropout` 0 (after each hidden layer), `epochs` 50, `batchSize` 64,
 * `learningRate` 0.05 for logistic / 0.01 for mlp, `l2` 0 (applied to every kernel), `seed` 42,
 * `classWeight` 'none' (binary only), `solver` 'auto', `earlyStopping` off.
 */
export type ModelSpec = {
  kind: 'logistic' | 'mlp';
  head?: 'binary' | 'regression';
  loss?: 'crossentropy' | 'mse' | 'mae';
  hidden?: number[];
  activation?: 'relu' | 'tanh';
  dropout?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  classWeight?: ClassWeightSpec;
  /**
   * How weights are fitted. `auto` (default): full-batch Newton (IRLS) for a logistic model with
   * cross-entropy or MSE when a full pass is cheap (≤ 2·10⁸ multiply-adds: 10,000 rows × 140
   * columns), else mini-batch Adam. `newton`: always Newton (logistic models only; `learningRate`
   * and `batchSize` do not apply, `epochs` caps the iterations, and the L2 is at least 1/(2n),
   * scikit-learn's default, so that separable data keeps finite weights). `adam`: always Adam.
   */
  solver?: 'auto' | 'newton' | 'adam';
  earlyStopping?: EarlyStoppingSpec | null;
};

/** One raw input row as read from a dataset (CSV cells, JSON values); absent cells may be null/undefined. */
export type RawRow = Record<string, string | number | boolean | null | undefined>;
