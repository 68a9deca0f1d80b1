import { z } from 'zod';
import { ModelingInputError } from './errors.js';
import type { FeatureSpec, RawRow } from './spec.js';
import { isMissing, show, toCategory, toNumber } from './values.js';

/** Name of the one-hot slot that receives unseen (and missing) categories. */
export const OTHER_CATEGORY = '__other__';

/** Fitted parameters of one numeric feature scaled as (x - mean) / std. */
export type StandardizeFeature = { name: string; kind: 'standardize'; mean: number; std: number };
/** Fitted one-hot encoding: one slot per sorted training category, then the `__other__` slot. */
export type OneHotFeature = { name: string; kind: 'onehot'; categories: string[]; other: true };
/** A numeric feature passed through unchanged; missing values become `fill` (the training mean). */
export type PassthroughFeature = { name: string; kind: 'none'; fill: number };

/**
 * The fitted feature transform: ONE JSON artifact produced from the training split and applied
 * unchanged at training, evaluation and serving time, so serving sees exactly what training saw.
 */
export type FittedTransform = {
  version: 1;
  features: Array<StandardizeFeature | OneHotFeature | PassthroughFeature>;
  /** Column names of the output matrix, in order (`temp`, `weather=rain`, `weather=__other__`…). */
  outputNames: string[];
  /** How many rows the transform was fitted on. */
  fittedOnRows: number;
};

/** Row-major design matrix produced by {@link applyTransform}. */
export type TransformedRows = { X: Float32Array; n: number; d: number; names: string[] };

function resolveKind(f: FeatureSpec): 'standardize' | 'onehot' | 'none' {
  const kind = f.transform ?? (f.type === 'number' ? 'standardize' : 'onehot');
  if (f.type === 'category' && kind !== 'onehot') {
    throw new ModelingInputError(`feature "${f.name}": a category feature can only use transform onehot, not ${kind}`, { column: f.name });
  }
  return kind;
}

function numberAt(rows: readonly RawRow[], i: number, name: string): number | undefined {
  const v = rows[i][name];
  if (isMissing(v)) return undefined;
  const n = toNumber(v);
  if (n === undefined) {
    throw new ModelingInputError(`row ${i}: column "${name}" is not a number: ${show(v)}`, { row: i, column: name, value: v });
  }
  return n;
}

function outputNamesOf(features: FittedTransform['features']): string[] {
  return features.flatMap((f) =>
    f.kind === 'onehot' ? [...f.categories, OTHER_CATEGORY].map((c) => `${f.name}=${c}`) : [f.name],
  );
}

/**
 * Fits the transform on `rows`, which must be the TRAINING split only (statistics from validation
 * or test rows would leak into the model). Numbers: mean and population std of the present values
 * (std 0 → 1 so constant columns become 0 instead of NaN; a column with no values gets mean 0,
 * std 1). Categories: sorted distinct present values, plus an `__other__` slot.
 * @throws ModelingInputError on an empty training set, duplicate feature names, a category feature
 *   with a numeric transform, or a non-numeric value in a numeric column (naming row, column, value).
 */
export function fitTransform(rows: readonly RawRow[], features: readonly FeatureSpec[]): FittedTransform {
  if (rows.length === 0) throw new ModelingInputError('cannot fit a feature transform on 0 training rows');
  if (features.length === 0) throw new ModelingInputError('cannot fit a feature transform with no features');
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw new ModelingInputError(`feature "${f.name}" is listed twice`, { column: f.name });
    seen.add(f.name);
  }

  const fitted = features.map((f): FittedTransform['features'][number] => {
    const kind = resolveKind(f);
    if (kind === 'onehot') {
      const cats = new Set<string>();
      for (let i = 0; i < rows.length; i++) {
        const v = rows[i][f.name];
        if (isMissing(v)) continue;
        // Numeric codes are keyed by their canonical form so "1.0" (CSV) and 1 (JSON) are one category.
        cats.add(f.type === 'number' ? String(numberAt(rows, i, f.name)) : toCategory(v));
      }
      // A training value literally named __other__ would collide with the catch-all slot.
      cats.delete(OTHER_CATEGORY);
      return { name: f.name, kind: 'onehot', categories: [...cats].sort(), other: true };
    }
    // Two passes in float64: the one-pass formula loses precision on large, tightly spread values.
    let count = 0;
    let sum = 0;
    for (let i = 0; i < rows.length; i++) {
      const x = numberAt(rows, i, f.name);
      if (x !== undefined) {
        count++;
        sum += x;
      }
    }
    const mean = count > 0 ? sum / count : 0;
    if (kind === 'none') return { name: f.name, kind: 'none', fill: mean };
    let sq = 0;
    for (let i = 0; i < rows.length; i++) {
      const x = numberAt(rows, i, f.name);
      if (x !== undefined) sq += (x - mean) ** 2;
    }
    const std = count > 0 ? Math.sqrt(sq / count) : 0;
    return { name: f.name, kind: 'standardize', mean, std: std > 0 && Number.isFinite(std) ? std : 1 };
  });

  return { version: 1, features: fitted, outputNames: outputNamesOf(fitted), fittedOnRows: rows.length };
}

function categoryIndex(lookup: Map<string, number> | undefined, v: RawRow[string]): number | undefined {
  if (lookup === undefined || isMissing(v)) return undefined;
  const k = lookup.get(toCategory(v));
  if (k !== undefined) return k;
  // Numeric codes were fitted in canonical form ("1.0" → "1"), so retry that way.
  const n = toNumber(v);
  return n === undefined ? undefined : lookup.get(String(n));
}

/**
 * Applies a fitted transform to any rows (training, validation, test, or one serving request).
 * Numbers may arrive as strings ("12.5"); missing numbers get the training mean (0 after
 * standardising); missing or unseen categories go to the `__other__` slot. Row numbers in errors
 * are 0-based indexes into `rows`.
 * @returns a row-major Float32Array `X` of `n` rows × `d` columns named `names`.
 * @throws ModelingInputError when a numeric column holds a non-numeric value.
 */
export function applyTransform(t: FittedTransform, rows: readonly RawRow[]): TransformedRows {
  const n = rows.length;
  const d = t.outputNames.length;
  const X = new Float32Array(n * d);
  const lookups = t.features.map((f) => (f.kind === 'onehot' ? new Map(f.categories.map((c, k) => [c, k])) : undefined));
  for (let i = 0; i < n; i++) {
    let col = 0;
    const base = i * d;
    for (let j = 0; j < t.features.length; j++) {
      const f = t.features[j];
      if (f.kind === 'onehot') {
        const k = categoryIndex(lookups[j], rows[i][f.name]);
        X[base + col + (k ?? f.categories.length)] = 1;
        col += f.categories.length + 1;
        continue;
      }
      const x = numberAt(rows, i, f.name);
      if (f.kind === 'standardize') X[base + col] = x === undefined ? 0 : (x - f.mean) / f.std;
      else X[base + col] = x ?? f.fill;
      col++;
    }
  }
  return { X, n, d, names: [...t.outputNames] };
}

const transformSchema = z.object({
  version: z.literal(1),
  features: z
    .array(
      z.discriminatedUnion('kind', [
        z.object({ name: z.string().min(1), kind: z.literal('standardize'), mean: z.number(), std: z.number().positive() }),
        z.object({ name: z.string().min(1), kind: z.literal('onehot'), categories: z.array(z.string()), other: z.literal(true) }),
        z.object({ name: z.string().min(1), kind: z.literal('none'), fill: z.number() }),
      ]),
    )
    .min(1),
  outputNames: z.array(z.string()),
  fittedOnRows: z.number().int().nonnegative(),
});

/** Encodes a fitted transform as UTF-8 JSON (the artifact stored next to the model). */
export function serializeTransform(t: FittedTransform): Buffer {
  return Buffer.from(JSON.stringify(t), 'utf8');
}

/**
 * Decodes and validates a transform artifact written by {@link serializeTransform}.
 * @throws ModelingInputError saying what is wrong when the bytes are not valid JSON, do not match
 *   the schema, or their output names disagree with their features.
 */
export function parseTransform(buf: Uint8Array): FittedTransform {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
  } catch (err) {
    throw new ModelingInputError(`bad feature transform artifact: not JSON (${(err as Error).message})`, {}, { cause: err });
  }
  const parsed = transformSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelingInputError(`bad feature transform artifact: ${z.prettifyError(parsed.error).replace(/\n+/g, '; ')}`, {}, { cause: parsed.error });
  }
  const t = parsed.data as FittedTransform;
  const expected = outputNamesOf(t.features);
  if (expected.length !== t.outputNames.length || expected.some((name, k) => name !== t.outputNames[k])) {
    throw new ModelingInputError('bad feature transform artifact: outputNames do not match its features');
  }
  return t;
}
