import { describe, expect, it } from 'vitest';
import { ModelingInputError, applyTransform, fitTransform, parseTransform, serializeTransform } from './index.js';
import type { FeatureSpec, RawRow } from './index.js';

const features: FeatureSpec[] = [
  { name: 'temp', type: 'number' },
  { name: 'weather', type: 'category' },
];
const train: RawRow[] = [
  { temp: 10, weather: 'sun' },
  { temp: 20, weather: 'rain' },
  { temp: 30, weather: 'sun' },
  { temp: 40, weather: 'fog' },
];

describe('fitTransform', () => {
  it('takes mean and std from the training rows only', () => {
    const t = fitTransform(train, features);
    expect(t.features[0]).toEqual({ name: 'temp', kind: 'standardize', mean: 25, std: Math.sqrt(125) });
    expect(t.features[1]).toEqual({ name: 'weather', kind: 'onehot', categories: ['fog', 'rain', 'sun'], other: true });
    expect(t.outputNames).toEqual(['temp', 'weather=fog', 'weather=rain', 'weather=sun', 'weather=__other__']);
    expect(t.fittedOnRows).toBe(4);
    // Test rows never influence the statistics, however extreme they are.
    const { X } = applyTransform(t, [{ temp: 1000, weather: 'sun' }]);
    expect(X[0]).toBeCloseTo((1000 - 25) / Math.sqrt(125), 4);
  });

  it('maps a constant column to std 1 (zeros after scaling, no NaN)', () => {
    const t = fitTransform([{ c: 5 }, { c: 5 }, { c: '5' }], [{ name: 'c', type: 'number' }]);
    expect(t.features[0]).toMatchObject({ mean: 5, std: 1 });
    expect(Array.from(applyTransform(t, [{ c: 5 }, { c: 7 }]).X)).toEqual([0, 2]);
  });

  it('imputes missing numbers with the training mean of the present values', () => {
    const t = fitTransform([{ a: 1 }, { a: null }, { a: 3 }, {}, { a: '' }], [
      { name: 'a', type: 'number' },
      { name: 'a2', type: 'number', transform: 'none' },
    ]);
    expect(t.features[0]).toMatchObject({ kind: 'standardize', mean: 2, std: 1 });
    expect(t.features[1]).toEqual({ name: 'a2', kind: 'none', fill: 0 });
    const out = applyTransform(t, [{ a: undefined, a2: '4.5' }, { a: Number.NaN, a2: null }]);
    expect(Array.from(out.X)).toEqual([0, 4.5, 0, 0]);
  });

  it('one-hot encodes numeric codes when asked to', () => {
    const t = fitTransform([{ dow: 1 }, { dow: '3.0' }, { dow: 3 }], [{ name: 'dow', type: 'number', transform: 'onehot' }]);
    expect(t.outputNames).toEqual(['dow=1', 'dow=3', 'dow=__other__']);
    expect(Array.from(applyTransform(t, [{ dow: '3' }, { dow: 5 }, { dow: '1.00' }]).X)).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    expect(() => fitTransform([{ dow: 'mon' }], [{ name: 'dow', type: 'number', transform: 'onehot' }])).toThrow(
      'row 0: column "dow" is not a number: "mon"',
    );
  });

  it('names row, column and value when a numeric value is not a number', () => {
    const rows: RawRow[] = [{ temp: 1 }, { temp: 2 }, { temp: 'warm' }];
    expect(() => fitTransform(rows, [{ name: 'temp', type: 'number' }])).toThrow('row 2: column "temp" is not a number: "warm"');
    try {
      fitTransform(rows, [{ name: 'temp', type: 'number' }]);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelingInputError);
      expect((e as ModelingInputError).details).toEqual({ row: 2, column: 'temp', value: 'warm' });
    }
  });

  it('rejects empty training data, duplicate features and numeric transforms on categories', () => {
    expect(() => fitTransform([], features)).toThrow(/0 training rows/);
    expect(() => fitTransform(train, [features[0], features[0]])).toThrow(/listed twice/);
    expect(() => fitTransform(train, [{ name: 'weather', type: 'category', transform: 'standardize' }])).toThrow(/only use transform onehot/);
  });
});

describe('applyTransform', () => {
  const t = fitTransform(train, features);

  it('produces a row-major matrix and routes unseen or missing categories to the other slot', () => {
    const out = applyTransform(t, [
      { temp: '25', weather: 'rain' },
      { temp: 25, weather: 'hail' },
      { temp: 25 },
    ]);
    expect(out.n).toBe(3);
    expect(out.d).toBe(5);
    expect(out.names).toEqual(t.outputNames);
    expect(Array.from(out.X)).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('imputes a missing numeric column with the mean (0 after standardising)', () => {
    expect(Array.from(applyTransform(t, [{ weather: 'fog' }]).X)).toEqual([0, 1, 0, 0, 0]);
  });

  it('throws with the row index and column for a non-numeric string', () => {
    expect(() => applyTransform(t, [{ temp: 1, weather: 'sun' }, { temp: '12,5', weather: 'sun' }])).toThrow(
      'row 1: column "temp" is not a number: "12,5"',
    );
  });

  it('handles zero rows', () => {
    const out = applyTransform(t, []);
    expect(out).toMatchObject({ n: 0, d: 5 });
    expect(out.X.length).toBe(0);
  });
});

describe('serializeTransform / parseTransform', () => {
  it('round-trips exactly', () => {
    const t = fitTransform(train, features);
    const buf = serializeTransform(t);
    expect(Buffer.isBuffer(buf)).toBe(true);
    const back = parseTransform(new Uint8Array(buf));
    expect(back).toEqual(t);
    expect(applyTransform(back, train).X).toEqual(applyTransform(t, train).X);
  });

  it('explains what is wrong with a bad artifact', () => {
    expect(() => parseTransform(Buffer.from('{nope'))).toThrow(/bad feature transform artifact: not JSON/);
    expect(() => parseTransform(Buffer.from('{"version":2}'))).toThrow(ModelingInputError);
    const t = fitTransform(train, features);
    const noStd = JSON.parse(serializeTransform(t).toString()) as { features: Array<Record<string, unknown>> };
    delete noStd.features[0].std;
    expect(() => parseTransform(Buffer.from(JSON.stringify(noStd)))).toThrow(/bad feature transform artifact: .*std/);
    const wrongNames = { ...t, outputNames: ['temp'] };
    expect(() => parseTransform(Buffer.from(JSON.stringify(wrongNames)))).toThrow(/outputNames do not match/);
  });
});

describe('cells a transform cannot read', () => {
  const t = fitTransform([{ a: 1, c: 'x' }, { a: 3, c: 'y' }], [
    { name: 'a', type: 'number' },
    { name: 'c', type: 'category' },
  ]);
  it('refuses ±Infinity with the row and column (the fast standardize path once let it through as NaN)', () => {
    expect(() => applyTransform(t, [{ a: 1, c: 'x' }, { a: Number.POSITIVE_INFINITY, c: 'x' }])).toThrow('row 1: column "a" is not a finite number: Infinity');
  });
  it('refuses a struct or list cell as a ModelingInputError, not a TypeError', () => {
    const struct = { a: { v: 1 }, c: 'x' } as unknown as RawRow;
    expect(() => applyTransform(t, [struct])).toThrow(ModelingInputError);
    expect(() => applyTransform(t, [struct])).toThrow(/row 0: column "a" is a struct, not a number/);
    expect(() => applyTransform(t, [{ a: 1, c: ['x'] } as unknown as RawRow])).toThrow(ModelingInputError);
  });
  it('marks the features whose spec declares an imputation, and the mark survives the artifact', () => {
    const withImpute = fitTransform([{ a: 1 }, { a: 3 }], [{ name: 'a', type: 'number', transform: 'none', impute: { strategy: 'median' } }, { name: 'b', type: 'number', transform: 'none' }]);
    expect(withImpute.features.map((f) => f.imputed)).toEqual([true, undefined]);
    expect(parseTransform(serializeTransform(withImpute)).features.map((f) => f.imputed)).toEqual([true, undefined]);
  });
});
