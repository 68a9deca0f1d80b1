// Internal input checks shared by every public function. Not exported from the index:
// messages always name the public function and the offending index so callers can fix data.
import { MlRangeError, MlTypeError } from './errors.js';

/** Throws unless `x` is array-like (has a numeric length). */
export function assertArrayLike(x: unknown, fn: string, name: string): asserts x is ArrayLike<unknown> {
  if (x === null || x === undefined || typeof (x as { length?: unknown }).length !== 'number') {
    throw new MlTypeError(`${fn}: ${name} must be an array-like of numbers`);
  }
}

function describe(v: unknown): string {
  if (typeof v !== 'number') return `not a number (${typeof v})`;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/** Throws unless every element is a finite number. Returns the length. */
export function assertFinite(x: ArrayLike<number>, fn: string, name: string, allowEmpty = false): number {
  assertArrayLike(x, fn, name);
  const n = x.length;
  if (n === 0 && !allowEmpty) throw new MlRangeError(`${fn}: ${name} is empty`);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    // `v - v === 0` is false for NaN, ±Infinity and non-numbers coerced to NaN.
    if (typeof v !== 'number' || v - v !== 0) throw new MlRangeError(`${fn}: ${name}[${i}] is ${describe(v)}`);
  }
  return n;
}

/** Throws unless every element is exactly 0 or 1. Returns the number of ones. */
export function assertBinaryLabels(y: ArrayLike<number>, fn: string, name = 'yTrue'): number {
  assertArrayLike(y, fn, name);
  const n = y.length;
  if (n === 0) throw new MlRangeError(`${fn}: ${name} is empty`);
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v === 1) ones++;
    else if (v !== 0) throw new MlRangeError(`${fn}: ${name}[${i}] is ${String(v)}, expected 0 or 1`);
  }
  return ones;
}

/** Throws unless every element is a finite number in [0, 1]. */
export function assertProbabilities(p: ArrayLike<number>, fn: string, name = 'yProb'): void {
  assertFinite(p, fn, name);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (v < 0 || v > 1) throw new MlRangeError(`${fn}: ${name}[${i}] is ${v}, expected a probability in [0, 1]`);
  }
}

/** Throws unless the two arrays have equal length. */
export function assertSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, fn: string, an: string, bn: string): void {
  if (a.length !== b.length) {
    throw new MlRangeError(`${fn}: ${an} has length ${a.length} but ${bn} has length ${b.length}`);
  }
}

/** Throws unless `v` is a finite number satisfying `ok`. */
export function assertOption(v: number, ok: (v: number) => boolean, fn: string, name: string, expected: string): void {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) {
    throw new MlRangeError(`${fn}: option ${name} is ${String(v)}, expected ${expected}`);
  }
}

/** Throws unless `v` is an integer >= min. */
export function assertInt(v: number, min: number, fn: string, name: string): void {
  assertOption(v, (x) => Number.isInteger(x) && x >= min, fn, name, `an integer >= ${min}`);
}
