import { z } from 'zod';
import { ModelingInputError } from './errors.js';
import type { FeatureSpec, RawRow } from './spec.js';
import { compile, run, type CompiledTransform } from './transform-apply.js';
import { fitFeature } from './transform-fit.js';
import { isVersion1, outputNamesOf, type FittedTransform, type TransformedRows } from './transform-types.js';

export { OTHER_CATEGORY, declaresImputation } from './transform-types.js';
export type {
  BucketizeFeature,
  DatePartsFeature,
  FittedFeature,
  FittedTransform,
  HashFeature,
  Log1pFeature,
  MinMaxFeature,
  OneHotFeature,
  PassthroughFeature,
  StandardizeFeature,
  TransformedRows,
} from './transform-types.js';

/**
 * Fits the transform on `rows`, which must be the TRAINING split only (statistics from validation
 * or test rows would leak into the model). Numbers: mean and population std of the present values
 * (std 0 → 1 so constant columns become 0 instead of NaN; a column with no values gets mean 0,
 * std 1), or min/max, or the imputation value the spec asks for. Categories: sorted distinct
 * present values (the `topK` most frequent when given), plus an `__other__` slot.
 * @throws ModelingInputError on an empty training set, duplicate feature names, a transform the
 *   feature's type cannot take, or a non-numeric value in a numeric column (naming row, column, value).
 */
export function fitTransform(rows: readonly RawRow[], features: readonly FeatureSpec[]): FittedTransform {
  if (rows.length === 0) throw new ModelingInputError('cannot fit a feature transform on 0 training rows');
  if (features.length === 0) throw new ModelingInputError('cannot fit a feature transform with no features');
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw new ModelingInputError(`feature "${f.name}" is listed twice`, { column: f.name });
    seen.add(f.name);
  }
  const fitted = features.map((f) => fitFeature(rows, f));
  return { version: isVersion1(fitted) ? 1 : 2, features: fitted, outputNames: outputNamesOf(fitted), fittedOnRows: rows.length };
}

// Serving applies one transform to many small requests: compile it once per artifact object.
const compiled = new WeakMap<FittedTransform, CompiledTransform>();

/**
 * Applies a fitted transform to any rows (training, validation, test, or one serving request).
 * Numbers may arrive as strings ("12.5"); missing numbers get the fitted fill (the training mean
 * unless the spec imputes otherwise); missing or unseen categories go to the `__other__` slot
 * (or the imputed category). Row numbers in errors are 0-based indexes into `rows`.
 * @returns a row-major Float32Array `X` of `n` rows × `d` columns named `names`.
 * @throws ModelingInputError when a numeric column holds a non-numeric value or a date column a non-date.
 */
export function applyTransform(t: FittedTransform, rows: readonly RawRow[]): TransformedRows {
  let c = compiled.get(t);
  if (!c) {
    c = compile(t.features);
    compiled.set(t, c);
  }
  return { X: run(c, rows), n: rows.length, d: c.d, names: [...t.outputNames] };
}

const clip = z.object({ min: z.number().optional(), max: z.number().optional() }).optional();
const indicator = z.literal(true).optional();
const imputed = z.literal(true).optional();
const extras = { fill: z.number().optional(), clip, indicator, imputed };
const transformSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  features: z
    .array(
      z.discriminatedUnion('kind', [
        z.object({ name: z.string().min(1), kind: z.literal('standardize'), mean: z.number(), std: z.number().positive(), ...extras }),
        z.object({ name: z.string().min(1), kind: z.literal('minmax'), min: z.number(), max: z.number(), ...extras }),
        z.object({ name: z.string().min(1), kind: z.literal('log1p'), ...extras }),
        z.object({ name: z.string().min(1), kind: z.literal('bucketize'), boundaries: z.array(z.number()), ...extras }),
        z.object({ name: z.string().min(1), kind: z.literal('onehot'), categories: z.array(z.string()), other: z.literal(true), fill: z.string().optional(), indicator, imputed }),
        z.object({ name: z.string().min(1), kind: z.literal('none'), fill: z.number(), clip, indicator, imputed }),
        z.object({ name: z.string().min(1), kind: z.literal('hash'), buckets: z.number().int().positive(), indicator, imputed }),
        z.object({ name: z.string().min(1), kind: z.literal('dateparts'), parts: z.array(z.enum(['hour', 'dayOfWeek', 'month'])), indicator, imputed }),
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
 * Decodes and validates a transform artifact written by {@link serializeTransform} (version 1 or 2).
 * @throws ModelingInputError saying what is wrong when the bytes are not valid JSON, do not match
 *   the schema, use a version-2 kind in a version-1 artifact, or their output names disagree with
 *   their features.
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
  if (t.version === 1 && !isVersion1(t.features)) throw new ModelingInputError('bad feature transform artifact: version 1 cannot hold the kinds or options it uses');
  const expected = outputNamesOf(t.features);
  if (expected.length !== t.outputNames.length || expected.some((name, k) => name !== t.outputNames[k])) {
    throw new ModelingInputError('bad feature transform artifact: outputNames do not match its features');
  }
  return t;
}
