/**
 * The parts of a pipeline spec this library consumes. Types only: validation of the whole spec
 * belongs to the spec parser; this library re-checks only what would otherwise fail obscurely.
 */

/**
 * One input feature. `transform` defaults to `'standardize'` for numbers and `'onehot'` for
 * categories; `'none'` on a number passes it through (missing values filled with the training mean).
 * `'onehot'` on a number treats its distinct values as categories (e.g. a weekday code).
 */
export type FeatureSpec = {
  name: string;
  type: 'number' | 'category';
  transform?: 'standardize' | 'onehot' | 'none';
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

/**
 * The model to train. Defaults: `hidden` [16] (mlp only), `activation` 'relu', `epochs` 50,
 * `batchSize` 64, `learningRate` 0.05 for logistic / 0.01 for mlp, `l2` 0 (applied to every kernel),
 * `seed` 42.
 */
export type ModelSpec = {
  kind: 'logistic' | 'mlp';
  hidden?: number[];
  activation?: 'relu' | 'tanh';
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
};

/** One raw input row as read from a dataset (CSV cells, JSON values); absent cells may be null/undefined. */
export type RawRow = Record<string, string | number | boolean | null | undefined>;
