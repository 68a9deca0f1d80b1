import { describe, expect, it } from 'vitest';
import { applyTransform, fitTransform, parseTransform, serializeTransform } from './index.js';
import type { FeatureSpec, FittedTransform, RawRow } from './index.js';

const row = (X: Float32Array, d: number, i: number): number[] => Array.from(X.subarray(i * d, (i + 1) * d));

describe('version-2 transforms', () => {
  const train: RawRow[] = [
    { x: 1, amount: 0, city: 'a', day: '2014-01-05' },
    { x: 3, amount: 9, city: 'a', day: '2014-06-01T13:00:00Z' },
    { x: null, amount: 99, city: 'b', day: null },
    { x: 100, amount: 999, city: 'c', day: '2015-12-31' },
    { x: 5, amount: '', city: 'a', day: '2013-03-03' },
  ];

  it('fits min-max, log1p, clip, median and missing indicators on the training rows', () => {
    const features: FeatureSpec[] = [
      { name: 'x', type: 'number', transform: 'minmax', clip: { max: 10 }, impute: { strategy: 'median' }, missingIndicator: true },
      { name: 'amount', type: 'number', transform: 'log1p', impute: { strategy: 'constant', value: 0 } },
    ];
    const t = fitTransform(train, features);
    expect(t.version).toBe(2);
    // 100 is clipped to 10 before fitting: min 1, max 10, median of [1, 3, 10, 5] = 4.
    expect(t.features[0]).toEqual({ name: 'x', kind: 'minmax', min: 1, max: 10, fill: 4, clip: { max: 10 }, indicator: true, imputed: true });
    expect(t.outputNames).toEqual(['x', 'x:missing', 'amount']);
    const out = applyTransform(t, [{ x: 55, amount: 9 }, { x: null, amount: null }, { x: -3, amount: -5 }]);
    expect(row(out.X, 3, 0)).toEqual([1, 0, Math.fround(Math.log(10))]);
    expect(row(out.X, 3, 1)).toEqual([Math.fround(3 / 9), 1, 0]);
    expect(row(out.X, 3, 2)).toEqual([Math.fround(-4 / 9), 0, 0]);
  });

  it('bucketizes into one slot per interval', () => {
    const t = fitTransform(train, [{ name: 'x', type: 'number', transform: 'bucketize', boundaries: [2, 10] }]);
    expect(t.outputNames).toEqual(['x<2', 'x[2,10)', 'x>=10']);
    expect(Array.from(applyTransform(t, [{ x: 1 }, { x: 2 }, { x: 10 }, { x: null }]).X)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    expect(() => fitTransform(train, [{ name: 'x', type: 'number', transform: 'bucketize', boundaries: [3, 2] }])).toThrow(/strictly increasing/);
  });

  it('keeps the top-k categories, sends the rest to other, and imputes the mode', () => {
    const t = fitTransform(train, [{ name: 'city', type: 'category', topK: 1, impute: { strategy: 'mode' } }]);
    expect(t.features[0]).toEqual({ name: 'city', kind: 'onehot', categories: ['a'], other: true, fill: 'a', imputed: true });
    expect(Array.from(applyTransform(t, [{ city: 'a' }, { city: 'c' }, { city: null }, { city: 'zz' }]).X)).toEqual([1, 0, 0, 1, 1, 0, 0, 1]);
  });

  it('hashes categories into stable slots, unseen ones included', () => {
    const t = fitTransform(train, [{ name: 'city', type: 'category', transform: 'hash', buckets: 8 }]);
    expect(t.outputNames).toHaveLength(8);
    const a = applyTransform(t, [{ city: 'never-seen' }, { city: 'never-seen' }, { city: null }]);
    expect(row(a.X, 8, 0)).toEqual(row(a.X, 8, 1));
    expect(row(a.X, 8, 0).reduce((s, x) => s + x, 0)).toBe(1);
    expect(row(a.X, 8, 2).reduce((s, x) => s + x, 0)).toBe(0);
  });

  it('extracts date parts in UTC', () => {
    const t = fitTransform(train, [{ name: 'day', type: 'date', missingIndicator: true }]);
    expect(t.outputNames).toEqual(['day.hour', 'day.dayOfWeek', 'day.month', 'day:missing']);
    // 2014-06-01 13:00 UTC is a Sunday in June.
    const out = applyTransform(t, [{ day: '2014-06-01T13:00:00Z' }, { day: '' }]);
    expect(row(out.X, 4, 0)).toEqual([Math.fround(13 / 23), 0, Math.fround(5 / 11), 0]);
    expect(row(out.X, 4, 1)).toEqual([0, 0, 0, 1]);
    expect(() => applyTransform(t, [{ day: 'yesterday' }])).toThrow('row 0: column "day" is not a date: "yesterday"');
  });

  it('rejects a transform the feature type cannot take', () => {
    expect(() => fitTransform(train, [{ name: 'city', type: 'category', transform: 'minmax' }])).toThrow(/onehot or hash/);
    expect(() => fitTransform(train, [{ name: 'day', type: 'date', transform: 'standardize' }])).toThrow(/dateparts/);
  });

  it('round-trips through the artifact, and still reads version-1 artifacts', () => {
    const t = fitTransform(train, [
      { name: 'x', type: 'number', impute: { strategy: 'mode' }, missingIndicator: true },
      { name: 'city', type: 'category', transform: 'hash', buckets: 4 },
      { name: 'day', type: 'date', parts: ['month'] },
    ]);
    const back = parseTransform(serializeTransform(t));
    expect(back).toEqual(t);
    expect(applyTransform(back, train).X).toEqual(applyTransform(t, train).X);
    const v1: FittedTransform = {
      version: 1,
      features: [
        { name: 'x', kind: 'standardize', mean: 2, std: 1 },
        { name: 'city', kind: 'onehot', categories: ['a'], other: true },
      ],
      outputNames: ['x', 'city=a', 'city=__other__'],
      fittedOnRows: 3,
    };
    expect(Array.from(applyTransform(parseTransform(Buffer.from(JSON.stringify(v1))), [{ x: 3, city: 'b' }, {}]).X)).toEqual([1, 0, 1, 0, 0, 1]);
    expect(() => parseTransform(Buffer.from(JSON.stringify({ ...v1, features: [{ name: 'x', kind: 'log1p' }], outputNames: ['x'] })))).toThrow(/version 1 cannot/);
  });
});
