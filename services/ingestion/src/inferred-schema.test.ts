import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { misfit, pinnedColumns, sampleColumns } from './inferred-schema.js';
import type { BatchProfile } from './profile.js';

const SPEC = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: inferred
schema: { infer: true, timestamp: day }
label: { column: rain }
features: [{ name: temp, type: number }]
`);

describe('inferred schemas', () => {
  const sample = sampleColumns([' day', 'temp', 'rain', 'city'], [
    ['2012-01-01', '3.5', 'true', 'Seattle'],
    ['2012-01-02', '', 'false', 'Seattle'],
  ]);

  it('checks a first batch with the sample’s types, every column nullable and unbounded', () => {
    expect(sample).toEqual([
      { name: 'day', type: 'date', nullable: true },
      { name: 'temp', type: 'number', nullable: true },
      { name: 'rain', type: 'boolean', nullable: true },
      { name: 'city', type: 'category', nullable: true },
    ]);
  });

  it('pins nullability, ranges with a margin and categories from the whole batch', () => {
    const profile: BatchProfile = {
      rows: 3,
      columns: {
        day: { count: 3, nulls: 0, belowMin: 0, aboveMax: 0 },
        temp: { count: 3, nulls: 1, belowMin: 0, aboveMax: 0, min: 2, max: 10 },
        rain: { count: 3, nulls: 0, belowMin: 0, aboveMax: 0, categories: { true: 1, false: 2 } },
        city: { count: 3, nulls: 0, belowMin: 0, aboveMax: 0, categories: { Seattle: 2, Austin: 1 } },
      },
    };
    expect(pinnedColumns(sample, profile)).toEqual([
      { name: 'day', type: 'date', nullable: false },
      { name: 'temp', type: 'number', nullable: true, min: 0, max: 12 },
      { name: 'rain', type: 'boolean', nullable: false },
      { name: 'city', type: 'category', nullable: false, values: ['Austin', 'Seattle'], onUnseen: 'flag' },
    ]);
  });

  it('says which spec fields the inferred schema does not fit', () => {
    expect(misfit(SPEC, sample)).toBeUndefined();
    const wrong = sample.map((c) => (c.name === 'temp' ? { ...c, type: 'string' as const } : c));
    expect(misfit(SPEC, wrong)).toMatch(/does not fit pipeline 'inferred': features\[0\]\.type: 'temp' is declared string in schema\.columns, not a number/);
  });
});
