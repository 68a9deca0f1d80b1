import type { FittedTransform } from '@refit/modeling';
import { isInvalidInput, type InvalidInputError } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { columnarRows, missingFeatures, requestRows } from './predict-input.js';

const limits = { maxRows: 100, maxColumns: 10 };
const refusal = (f: () => unknown): InvalidInputError => {
  try {
    f();
  } catch (err) {
    expect(isInvalidInput(err)).toBe(true);
    return err as InvalidInputError;
  }
  throw new Error('expected a refusal');
};

const transform: FittedTransform = {
  version: 2,
  features: [
    { name: 'temp_max', kind: 'standardize', mean: 10, std: 2 },
    { name: 'wind', kind: 'standardize', mean: 3, std: 1, fill: 3, imputed: true },
    { name: 'weather', kind: 'onehot', categories: ['rain', 'sun'], other: true },
  ],
  outputNames: ['temp_max', 'wind', 'weather=rain', 'weather=sun', 'weather=__other__'],
  fittedOnRows: 10,
};

describe('a Predict request’s rows', () => {
  it('refuses both shapes at once, and values without columns', () => {
    expect(refusal(() => requestRows({ rows: [{ a: 1 }], columns: ['a'], values: [1] }, limits)).message).toMatch(/both rows \(1\) and columns\/values .*send one shape/);
    expect(refusal(() => requestRows({ rows: [], columns: [], values: [1, 2] }, limits)).message).toMatch(/values \(2\) came without columns/);
  });
  it('refuses a struct or list cell, naming the row and column', () => {
    expect(refusal(() => requestRows({ rows: [{ a: 1 }, { a: { b: 1 } }], columns: [], values: [] }, limits)).message).toBe('row 1: column "a" is a struct; a feature value is a number, string, bool or null');
    expect(refusal(() => requestRows({ rows: [{ a: [1, 2] }], columns: [], values: [] }, limits)).message).toMatch(/row 0: column "a" is a list/);
  });
  it('refuses more rows or columns than the limits', () => {
    expect(refusal(() => requestRows({ rows: [], columns: ['a'], values: new Array(101).fill(1) }, limits)).message).toMatch(/101 rows in one call; at most 100 \(REFIT_PREDICT_MAX_ROWS\)/);
    expect(refusal(() => requestRows({ rows: [Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`c${i}`, i]))], columns: [], values: [] }, limits)).message).toMatch(/11 columns; at most 10/);
  });
  it('in the columnar shape: refuses duplicate and empty column names and ±Infinity, reads NaN as missing', () => {
    expect(refusal(() => columnarRows(['temp_max', 'wind', 'temp_max'], [1, 2, 3])).message).toMatch(/column "temp_max" is given twice \(columns\[0\] and columns\[2\]\)/);
    expect(refusal(() => columnarRows(['a', ' '], [1, 2])).message).toMatch(/columns\[1\] is empty/);
    expect(refusal(() => columnarRows(['a', 'b'], [1, 2, 3, Number.POSITIVE_INFINITY])).message).toMatch(/row 1: column "b" is not a finite number: Infinity/);
    expect(refusal(() => columnarRows(['a'], [Number.NEGATIVE_INFINITY])).message).toMatch(/-Infinity/);
    expect(columnarRows(['a', 'b'], [1, Number.NaN])).toEqual([{ a: 1, b: null }]);
  });
  it('names the bad field of the request as a path (sent as a google.rpc.BadRequest field violation)', () => {
    const field = (f: () => unknown): string | undefined => refusal(f).field;
    expect(field(() => requestRows({ rows: [{ a: 1 }, { a: { b: 1 } }], columns: [], values: [] }, limits))).toBe('rows[1].a');
    expect(field(() => requestRows({ rows: [{ 'max temp': Number.NaN }], columns: [], values: [] }, limits))).toBe('rows[0]["max temp"]');
    expect(field(() => requestRows({ rows: [1], columns: [], values: [] }, limits))).toBe('rows[0]');
    expect(field(() => requestRows({ rows: [], columns: [], values: [1] }, limits))).toBe('columns');
    expect(field(() => columnarRows(['a', 'a'], [1, 2]))).toBe('columns[1]');
    expect(field(() => columnarRows(['a', 'b'], [1, 2, 3]))).toBe('values');
    expect(field(() => columnarRows(['a', 'b'], [1, 2, 3, Number.POSITIVE_INFINITY]))).toBe('values[3]');
  });
});

describe('features a row lacks', () => {
  it('are refused by name when the spec declares no imputation, with the rows and what to do', () => {
    const err = refusal(() => missingFeatures(transform, 'v3', [{ temp_max: 12, wind: 1, weather: 'sun' }, { wind: 1 }, { temp_max: null, weather: 'rain' }]));
    expect(err.message).toMatch(/^feature "temp_max" is missing in rows 1, 2, feature "weather" is missing in row 1: model v3 was trained with them and the spec declares no imputation/);
    expect(err.message).toMatch(/declare `impute`/);
    expect(err.reason).toBe('MISSING_FEATURE');
    expect(err.violations).toEqual([
      { field: 'rows[1].temp_max', description: 'feature "temp_max" is missing in rows 1, 2' },
      { field: 'rows[1].weather', description: 'feature "weather" is missing in row 1' },
    ]);
    expect(refusal(() => missingFeatures(transform, 'v3', [{ temp_max: 12 }])).message).toMatch(/feature "weather" is missing in the row/);
  });
  it('are filled and reported per row when the spec declares an imputation (absent, null, NaN or blank)', () => {
    expect(missingFeatures(transform, 'v3', [{ temp_max: 1, weather: 'sun' }, { temp_max: 1, wind: 2, weather: 'sun' }, { temp_max: 1, wind: Number.NaN, weather: 'sun' }, { temp_max: 1, wind: ' ', weather: 'sun' }])).toEqual([['wind'], undefined, ['wind'], ['wind']]);
  });
  it('count a missing indicator as a declaration, and an older artifact’s declared fill', () => {
    const t: FittedTransform = { ...transform, features: [{ name: 'x', kind: 'standardize', mean: 0, std: 1, indicator: true }, { name: 'c', kind: 'onehot', categories: ['a'], other: true, fill: 'a' }], outputNames: ['x', 'x:missing', 'c=a', 'c=__other__'] };
    expect(missingFeatures(t, 'v1', [{}])).toEqual([['x', 'c']]);
    // A passthrough's fill was always written: only `imputed` says the spec declared it.
    const none: FittedTransform = { ...transform, features: [{ name: 'x', kind: 'none', fill: 0 }], outputNames: ['x'] };
    expect(refusal(() => missingFeatures(none, 'v1', [{}])).message).toMatch(/feature "x" is missing/);
  });
});
