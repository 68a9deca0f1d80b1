import { describe, expect, it } from 'vitest';
import { inferColumns, rangeWithMargin } from './infer-schema.js';
import { parseSpec, type SpecError } from './parse.js';

const spec = (schema: string, features = '[{ name: wind, type: number }]') =>
  `apiVersion: refit/v1\nkind: Pipeline\nname: inferred\nschema: ${schema}\nlabel: { column: rain }\nfeatures: ${features}\n`;
const problems = (yaml: string): string[] => {
  try {
    parseSpec(yaml);
    return [];
  } catch (e) {
    return (e as SpecError).problems;
  }
};

describe('schema.infer', () => {
  it('takes a spec without columns; its column references wait for the inferred schema', () => {
    const s = parseSpec(spec('{ infer: true, timestamp: day }'));
    expect(s.schema).toMatchObject({ infer: true, columns: [], timestamp: 'day' });
  });

  it('names the field when columns and infer are both given, or neither', () => {
    expect(problems(spec('{ infer: true, columns: [{ name: rain, type: boolean }] }'))).toEqual([expect.stringMatching(/^schema\.infer: give either schema\.columns or schema\.infer: true/)]);
    expect(problems(spec('{ timestamp: day }'))[0]).toMatch(/^schema\.columns: must declare at least one column, or set schema\.infer: true/);
  });

  it('still refuses the label as a feature', () => {
    expect(problems(spec('{ infer: true }', '[{ name: rain, type: number }]'))).toEqual([expect.stringMatching(/^features\[0\]\.name: 'rain' is the label column/)]);
  });
});

describe('inferColumns and rangeWithMargin', () => {
  it('infers types, nullability and categories', () => {
    expect(inferColumns(['n', 'x', 'c'], [['1', '0.5', 'a'], ['', '2', 'a'], ['3', '1e3', 'b'], ['4', '-1', 'b']])).toEqual([
      { name: 'n', type: 'integer', nullable: true },
      { name: 'x', type: 'number' },
      { name: 'c', type: 'category', values: ['a', 'b'], onUnseen: 'flag' },
    ]);
  });

  it('widens a range by a quarter of its span, not below 0 for a non-negative column, whole for integers', () => {
    expect(rangeWithMargin(-1.1, 34.4)).toEqual({ min: -9.975, max: 43.275 });
    expect(rangeWithMargin(0, 54.1)).toEqual({ min: 0, max: 67.625 });
    expect(rangeWithMargin(3, 10, true)).toEqual({ min: 1, max: 12 });
    expect(rangeWithMargin(5, 5)).toEqual({ min: 3.75, max: 6.25 });
  });
});
