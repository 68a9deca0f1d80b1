import { ModelingInputError } from './errors.js';
import type { FeatureSpec, RawRow } from './spec.js';
import { OTHER_CATEGORY, type FittedFeature, type NumericExtras } from './transform-types.js';
import { isMissing, show, toCategory, toNumber } from './values.js';

/** Hash slots of a `hash` feature when the spec gives none. */
export const DEFAULT_HASH_BUCKETS = 32;
/** Date parts of a `dateparts` feature when the spec gives none. */
export const DEFAULT_DATE_PARTS = ['hour', 'dayOfWeek', 'month'] as const;

type Kind = NonNullable<FeatureSpec['transform']>;
const NUMERIC_KINDS: readonly Kind[] = ['standardize', 'minmax', 'log1p', 'bucketize', 'onehot', 'none'];

/** The transform a feature uses, checked against its type. */
export function resolveKind(f: FeatureSpec): Kind {
  const kind = f.transform ?? (f.type === 'number' ? 'standardize' : f.type === 'date' ? 'dateparts' : 'onehot');
  const allowed: readonly Kind[] = f.type === 'category' ? ['onehot', 'hash'] : f.type === 'date' ? ['dateparts'] : NUMERIC_KINDS;
  if (!allowed.includes(kind)) {
    throw new ModelingInputError(`feature "${f.name}": a ${f.type} feature can only use transform ${allowed.join(' or ')}, not ${kind}`, { column: f.name });
  }
  return kind;
}

/** A present cell as a finite number, or a ModelingInputError naming row, column and value. */
export function numberOf(v: RawRow[string], i: number, name: string): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (isMissing(v)) return undefined;
  const n = toNumber(v);
  if (n === undefined) {
    const what = typeof v === 'number' ? `is not a finite number: ${v}` : typeof v === 'object' ? `is a ${Array.isArray(v) ? 'list' : 'struct'}, not a number: ${show(JSON.stringify(v))}` : `is not a number: ${show(v)}`;
    throw new ModelingInputError(`row ${i}: column "${name}" ${what}`, { row: i, column: name, value: v });
  }
  return n;
}

/** Bounds `x` by an optional clip. */
export const clipped = (x: number, c: NumericExtras['clip']): number => (c === undefined ? x : Math.min(c.max ?? Infinity, Math.max(c.min ?? -Infinity, x)));

/** The most frequent key (ties: the smallest in sort order). */
function modeOf<K extends string | number>(values: readonly K[]): K | undefined {
  const counts = new Map<K, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: K | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && best !== undefined && v < best)) [best, bestCount] = [v, c];
  return best;
}

/** Median of already-sorted values (0 for none). */
const medianOf = (sorted: Float64Array): number => {
  const n = sorted.length;
  if (n === 0) return 0;
  return n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
};

function numericFill(f: FeatureSpec, values: Float64Array, mean: number): number | undefined {
  const s = f.impute?.strategy;
  if (s === undefined || s === 'mean') return f.impute ? mean : undefined;
  if (s === 'median') return medianOf(Float64Array.from(values).sort());
  if (s === 'mode') return modeOf(Array.from(values)) ?? 0;
  const c = typeof f.impute?.value === 'number' ? f.impute.value : Number(f.impute?.value);
  if (!Number.isFinite(c)) throw new ModelingInputError(`feature "${f.name}": impute constant must be a number, got ${show(f.impute?.value)}`, { column: f.name });
  return c;
}

function fitNumeric(rows: readonly RawRow[], f: FeatureSpec, kind: Kind): FittedFeature {
  const raw: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const x = numberOf(rows[i][f.name], i, f.name);
    if (x !== undefined) raw.push(clipped(x, f.clip));
  }
  const values = Float64Array.from(raw);
  // Two passes in float64: the one-pass formula loses precision on large, tightly spread values.
  let sum = 0;
  for (const x of values) sum += x;
  const mean = values.length > 0 ? sum / values.length : 0;
  const fill = numericFill(f, values, mean);
  const extras: NumericExtras = {
    ...(fill !== undefined ? { fill } : {}),
    ...(f.clip ? { clip: { ...f.clip } } : {}),
    ...(f.missingIndicator ? { indicator: true as const } : {}),
  };
  switch (kind) {
    case 'none':
      return { name: f.name, kind: 'none', ...extras, fill: fill ?? mean };
    case 'minmax': {
      let min = Infinity;
      let max = -Infinity;
      for (const x of values) [min, max] = [Math.min(min, x), Math.max(max, x)];
      return values.length ? { name: f.name, kind: 'minmax', min, max, ...extras } : { name: f.name, kind: 'minmax', min: 0, max: 1, ...extras };
    }
    case 'log1p':
      return { name: f.name, kind: 'log1p', ...extras };
    case 'bucketize': {
      const b = f.boundaries ?? [];
      if (b.some((x, k) => !Number.isFinite(x) || (k > 0 && x <= b[k - 1]))) {
        throw new ModelingInputError(`feature "${f.name}": bucketize boundaries must be finite and strictly increasing, got [${b.join(', ')}]`, { column: f.name });
      }
      return { name: f.name, kind: 'bucketize', boundaries: [...b], ...extras };
    }
    default: {
      let sq = 0;
      for (const x of values) sq += (x - mean) ** 2;
      const std = values.length > 0 ? Math.sqrt(sq / values.length) : 0;
      return { name: f.name, kind: 'standardize', mean, std: std > 0 && Number.isFinite(std) ? std : 1, ...extras };
    }
  }
}

function fitCategory(rows: readonly RawRow[], f: FeatureSpec): FittedFeature {
  const counts = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i][f.name];
    if (isMissing(v)) continue;
    // Numeric codes are keyed by their canonical form so "1.0" (CSV) and 1 (JSON) are one category.
    const key = f.type === 'number' ? String(numberOf(v, i, f.name)) : toCategory(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // A training value literally named __other__ would collide with the catch-all slot.
  counts.delete(OTHER_CATEGORY);
  let cats = [...counts.keys()];
  if (f.topK !== undefined && cats.length > f.topK) {
    cats = cats.sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1)).slice(0, Math.max(0, f.topK));
  }
  const s = f.impute?.strategy;
  const fill =
    s === 'mode'
      ? [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0]
      : s === 'constant' && f.impute?.value !== undefined
        ? String(f.impute.value)
        : undefined;
  return {
    name: f.name,
    kind: 'onehot',
    categories: cats.sort(),
    other: true,
    ...(fill !== undefined ? { fill } : {}),
    ...(f.missingIndicator ? { indicator: true as const } : {}),
  };
}

/** Fits one feature on the training rows. */
export function fitFeature(rows: readonly RawRow[], f: FeatureSpec): FittedFeature {
  const fitted = fitKind(rows, f);
  // Serving answers a row without this feature only when the spec said how to fill it.
  return f.impute ? { ...fitted, imputed: true } : fitted;
}

function fitKind(rows: readonly RawRow[], f: FeatureSpec): FittedFeature {
  const kind = resolveKind(f);
  const indicator = f.missingIndicator ? { indicator: true as const } : {};
  if (kind === 'onehot') return fitCategory(rows, f);
  if (kind === 'hash') {
    const buckets = f.buckets ?? DEFAULT_HASH_BUCKETS;
    if (!Number.isInteger(buckets) || buckets < 1) throw new ModelingInputError(`feature "${f.name}": hash buckets must be a positive integer, got ${buckets}`, { column: f.name });
    return { name: f.name, kind: 'hash', buckets, ...indicator };
  }
  if (kind === 'dateparts') return { name: f.name, kind: 'dateparts', parts: [...(f.parts ?? DEFAULT_DATE_PARTS)], ...indicator };
  return fitNumeric(rows, f, kind);
}
