/** Types of the fitted feature transform artifact (versions 1 and 2). */

/** Name of the one-hot slot that receives unseen (and missing) categories. */
export const OTHER_CATEGORY = '__other__';

/**
 * What numeric kinds may add (version 2): `fill` replaces a missing value before scaling (absent:
 * the training mean, as in version 1), `clip` bounds the raw value first, `indicator` appends a
 * `<name>:missing` column.
 */
export type NumericExtras = { fill?: number; clip?: { min?: number; max?: number }; indicator?: true; imputed?: true };

/** Fitted parameters of one numeric feature scaled as (x - mean) / std. */
export type StandardizeFeature = { name: string; kind: 'standardize'; mean: number; std: number } & NumericExtras;
/** (x - min) / (max - min) with the training min and max (a constant column maps to 0). */
export type MinMaxFeature = { name: string; kind: 'minmax'; min: number; max: number } & NumericExtras;
/** log(1 + max(x, 0)). */
export type Log1pFeature = { name: string; kind: 'log1p' } & NumericExtras;
/** One slot per interval: `< b0`, `[b0, b1)`, …, `>= bn`. A missing value without a fill sets no slot. */
export type BucketizeFeature = { name: string; kind: 'bucketize'; boundaries: number[] } & NumericExtras;
/** Fitted one-hot encoding: one slot per sorted training category, then the `__other__` slot. */
export type OneHotFeature = { name: string; kind: 'onehot'; categories: string[]; other: true; fill?: string; indicator?: true; imputed?: true };
/** A numeric feature passed through unchanged; missing values become `fill` (the training mean). */
export type PassthroughFeature = { name: string; kind: 'none'; fill: number; clip?: { min?: number; max?: number }; indicator?: true; imputed?: true };
/** Categories hashed (FNV-1a, UTF-16 code units) into `buckets` one-hot slots; missing sets none. */
export type HashFeature = { name: string; kind: 'hash'; buckets: number; indicator?: true; imputed?: true };
/** Parts of a date, each scaled to [0, 1]: hour/23, dayOfWeek/6 (Sunday 0), (month-1)/11; missing → 0. */
export type DatePartsFeature = { name: string; kind: 'dateparts'; parts: Array<'hour' | 'dayOfWeek' | 'month'>; indicator?: true; imputed?: true };

/** One fitted feature. */
export type FittedFeature =
  | StandardizeFeature
  | MinMaxFeature
  | Log1pFeature
  | BucketizeFeature
  | OneHotFeature
  | PassthroughFeature
  | HashFeature
  | DatePartsFeature;

/**
 * The fitted feature transform: ONE JSON artifact produced from the training split and applied
 * unchanged at training, evaluation and serving time, so serving sees exactly what training saw.
 * Version 1 knows standardize, onehot and none; version 2 adds the other kinds and the extras.
 * A transform that needs nothing of version 2 is still written as version 1.
 */
export type FittedTransform = {
  version: 1 | 2;
  features: FittedFeature[];
  /** Column names of the output matrix, in order (`temp`, `weather=rain`, `weather=__other__`…). */
  outputNames: string[];
  /** How many rows the transform was fitted on. */
  fittedOnRows: number;
};

/** Row-major design matrix produced by `applyTransform`. */
export type TransformedRows = { X: Float32Array; n: number; d: number; names: string[] };

const bucketNames = (name: string, b: number[]): string[] =>
  b.length === 0 ? [`${name}[all]`] : [`${name}<${b[0]}`, ...b.slice(1).map((x, k) => `${name}[${b[k]},${x})`), `${name}>=${b[b.length - 1]}`];

/** Output column names of fitted features, in matrix order. */
export function outputNamesOf(features: readonly FittedFeature[]): string[] {
  return features.flatMap((f) => {
    const main =
      f.kind === 'onehot'
        ? [...f.categories, OTHER_CATEGORY].map((c) => `${f.name}=${c}`)
        : f.kind === 'bucketize'
          ? bucketNames(f.name, f.boundaries)
          : f.kind === 'hash'
            ? Array.from({ length: f.buckets }, (_, k) => `${f.name}#${k}`)
            : f.kind === 'dateparts'
              ? f.parts.map((p) => `${f.name}.${p}`)
              : [f.name];
    return f.indicator ? [...main, `${f.name}:missing`] : main;
  });
}

/**
 * Whether the spec declared how a missing value of this feature is filled (`impute`, or a
 * `missingIndicator` that makes missingness a feature), so serving may answer a row without it.
 * `imputed` is written since the serving check; an older artifact's declared fill still counts
 * (every kind but `none`, whose fill was always written, writes one only when declared).
 */
export function declaresImputation(f: FittedFeature): boolean {
  return f.imputed === true || f.indicator === true || (f.kind !== 'none' && 'fill' in f && f.fill !== undefined);
}

/** True when a transform uses nothing beyond version 1 (so older readers can load it). */
export function isVersion1(features: readonly FittedFeature[]): boolean {
  return features.every((f) => {
    if (f.indicator) return false;
    if (f.kind === 'standardize') return f.fill === undefined && f.clip === undefined;
    if (f.kind === 'none') return f.clip === undefined;
    if (f.kind === 'onehot') return f.fill === undefined;
    return false;
  });
}
