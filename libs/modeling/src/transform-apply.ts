import { ModelingInputError } from './errors.js';
import type { RawRow } from './spec.js';
import { clipped, numberOf } from './transform-fit.js';
import type { FittedFeature } from './transform-types.js';
import { dateMs, isMissing, show, toCategory, toNumber } from './values.js';

/** Writes one feature of row `i` (cell `v`) at `X[at…]`; returns nothing, throws on a bad value. */
type Encoder = (v: RawRow[string], X: Float32Array, at: number, i: number) => void;

/** FNV-1a over UTF-16 code units: stable across processes and platforms. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function categoryIndex(lookup: Map<string, number>, v: string | number | boolean): number | undefined {
  const k = lookup.get(toCategory(v));
  if (k !== undefined) return k;
  // Numeric codes were fitted in canonical form ("1.0" → "1"), so retry that way.
  const n = toNumber(v);
  return n === undefined ? undefined : lookup.get(String(n));
}

/** Milliseconds since the epoch of a date cell (ISO text or epoch ms), or a ModelingInputError. */
function timeOf(v: string | number | boolean, i: number, name: string): number {
  const t = typeof v === 'number' ? v : typeof v === 'string' ? dateMs(/^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? v.trim() : v) : NaN;
  if (!Number.isFinite(t)) throw new ModelingInputError(`row ${i}: column "${name}" is not a date: ${show(v)}`, { row: i, column: name, value: v });
  return t;
}

function numericEncoder(f: Extract<FittedFeature, { kind: 'standardize' | 'minmax' | 'log1p' | 'bucketize' | 'none' }>): Encoder {
  const fill = f.fill ?? (f.kind === 'standardize' ? f.mean : f.kind === 'none' ? f.fill : undefined);
  const clip = f.clip;
  const scale: (x: number) => number =
    f.kind === 'standardize'
      ? (x) => (x - f.mean) / f.std
      : f.kind === 'minmax'
        ? (x) => (f.max > f.min ? (x - f.min) / (f.max - f.min) : 0)
        : f.kind === 'log1p'
          ? (x) => Math.log1p(Math.max(0, x))
          : (x) => x;
  if (f.kind === 'bucketize') {
    const b = f.boundaries;
    return (v, X, at, i) => {
      const raw = numberOf(v, i, f.name);
      const x = raw === undefined ? fill : clipped(raw, clip);
      if (x === undefined) return;
      let k = 0;
      while (k < b.length && x >= b[k]) k++;
      X[at + k] = 1;
    };
  }
  if (f.kind === 'standardize' && clip === undefined) {
    // The common case, without the calls: the deployer's latency and the training matrices depend on it.
    const { mean, std } = f;
    const missing = fill === undefined ? 0 : (fill - mean) / std;
    return (v, X, at, i) => {
      // v - v is 0 for a finite number only: NaN reads as missing, ±Infinity is refused by numberOf.
      const x = typeof v === 'number' && v - v === 0 ? v : numberOf(v, i, f.name);
      X[at] = x === undefined ? missing : (x - mean) / std;
    };
  }
  return (v, X, at, i) => {
    const raw = numberOf(v, i, f.name);
    const x = raw === undefined ? fill : clipped(raw, clip);
    X[at] = x === undefined ? 0 : scale(x);
  };
}

/** Most parsed dates a `dateparts` encoder remembers: tabular data repeats its dates (one per day, per hour…). */
const DATE_CACHE = 4096;

function encoderOf(f: FittedFeature): Encoder {
  switch (f.kind) {
    case 'onehot': {
      const lookup = new Map(f.categories.map((c, k) => [c, k]));
      const other = f.categories.length;
      const fill = f.fill;
      return (v, X, at) => {
        const cell = isMissing(v) ? fill : v;
        const k = cell === undefined ? undefined : categoryIndex(lookup, cell);
        X[at + (k ?? other)] = 1;
      };
    }
    case 'hash':
      return (v, X, at) => {
        if (!isMissing(v)) X[at + (fnv1a(toCategory(v)) % f.buckets)] = 1;
      };
    case 'dateparts': {
      const cache = new Map<string | number | boolean, Float32Array>();
      const partsOf = (t: number): Float32Array => {
        const d = new Date(t);
        return Float32Array.from(f.parts, (p) => (p === 'hour' ? d.getUTCHours() / 23 : p === 'dayOfWeek' ? d.getUTCDay() / 6 : d.getUTCMonth() / 11));
      };
      return (v, X, at, i) => {
        if (isMissing(v)) return;
        let parts = cache.get(v);
        if (!parts) {
          parts = partsOf(timeOf(v, i, f.name));
          if (cache.size >= DATE_CACHE) cache.clear();
          cache.set(v, parts);
        }
        X.set(parts, at);
      };
    }
    default:
      return numericEncoder(f);
  }
}

const widthOf = (f: FittedFeature): number =>
  f.kind === 'onehot'
    ? f.categories.length + 1
    : f.kind === 'bucketize'
      ? Math.max(1, f.boundaries.length + 1)
      : f.kind === 'hash'
        ? f.buckets
        : f.kind === 'dateparts'
          ? f.parts.length
          : 1;

/** A compiled transform: per feature its column, encoder and output offset. */
export type CompiledTransform = { d: number; steps: Array<{ name: string; encode: Encoder; at: number; indicator: number }> };

/** Compiles fitted features into encoders (done once per artifact; applying is then a tight loop). */
export function compile(features: readonly FittedFeature[]): CompiledTransform {
  let at = 0;
  const steps = features.map((f) => {
    const step = { name: f.name, encode: encoderOf(f), at, indicator: f.indicator ? at + widthOf(f) : -1 };
    at += widthOf(f) + (f.indicator ? 1 : 0);
    return step;
  });
  return { d: at, steps };
}

/** Runs a compiled transform over rows into a fresh row-major matrix. */
export function run(c: CompiledTransform, rows: readonly RawRow[]): Float32Array {
  const { d, steps } = c;
  const n = rows.length;
  const X = new Float32Array(n * d);
  // Feature by feature, then row by row: the same key read from every row keeps the property
  // lookup monomorphic, which is most of the cost of a transform.
  for (let j = 0; j < steps.length; j++) {
    const { name, encode, at, indicator } = steps[j];
    for (let i = 0; i < n; i++) {
      const v = rows[i][name];
      encode(v, X, i * d + at, i);
      if (indicator >= 0 && isMissing(v)) X[i * d + indicator] = 1;
    }
  }
  return X;
}
