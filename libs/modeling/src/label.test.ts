import { describe, expect, it } from 'vitest';
import { ModelingInputError, labelOf, labelsOf } from './index.js';
import type { LabelSpec } from './index.js';

describe('labelOf', () => {
  it('applies gt / gte / lt to numbers and numeric strings', () => {
    const gt: LabelSpec = { column: 'p', positive: { gt: 0 } };
    expect(labelOf({ p: 0.3 }, gt)).toBe(1);
    expect(labelOf({ p: '0.0' }, gt)).toBe(0);
    expect(labelOf({ p: ' 12.5 ' }, gt)).toBe(1);
    expect(labelOf({ p: 5 }, { column: 'p', positive: { gte: 5 } })).toBe(1);
    expect(labelOf({ p: 4.9 }, { column: 'p', positive: { gte: 5 } })).toBe(0);
    expect(labelOf({ p: -1 }, { column: 'p', positive: { lt: 0 } })).toBe(1);
  });

  it('requires every given key to hold when several are combined', () => {
    const band: LabelSpec = { column: 'p', positive: { gt: 0, lt: 10 } };
    expect(labelOf({ p: 5 }, band)).toBe(1);
    expect(labelOf({ p: 10 }, band)).toBe(0);
  });

  it('matches eq by the type of the target', () => {
    expect(labelOf({ w: 'rain' }, { column: 'w', positive: { eq: 'rain' } })).toBe(1);
    expect(labelOf({ w: 'sun' }, { column: 'w', positive: { eq: 'rain' } })).toBe(0);
    expect(labelOf({ c: '3' }, { column: 'c', positive: { eq: 3 } })).toBe(1);
    expect(labelOf({ c: 3 }, { column: 'c', positive: { eq: '3' } })).toBe(1);
    expect(labelOf({ f: 'TRUE' }, { column: 'f', positive: { eq: true } })).toBe(1);
    expect(labelOf({ f: false }, { column: 'f', positive: { eq: true } })).toBe(0);
  });

  it('matches in against strings and numbers', () => {
    const wet: LabelSpec = { column: 'w', positive: { in: ['rain', 'drizzle', 'snow'] } };
    expect(labelOf({ w: 'drizzle' }, wet)).toBe(1);
    expect(labelOf({ w: 'sun' }, wet)).toBe(0);
    expect(labelOf({ k: '2' }, { column: 'k', positive: { in: [1, 2] } })).toBe(1);
    expect(labelOf({ k: 'x' }, { column: 'k', positive: { in: [1, 2] } })).toBe(0);
  });

  it('reads an existing 0/1/true/false column when positive is absent', () => {
    const plain: LabelSpec = { column: 'y' };
    expect([1, 0, true, false, '1', '0', 'true', 'False'].map((y) => labelOf({ y }, plain))).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
    expect(() => labelOf({ y: 2 }, plain, 7)).toThrow(/label column "y" at row 7: value 2 is not 0\/1\/true\/false/);
  });

  it('names the column and row when the value is missing or unparseable', () => {
    const gt: LabelSpec = { column: 'precipitation', positive: { gt: 0 } };
    expect(() => labelOf({}, gt, 12)).toThrow('label column "precipitation" is missing at row 12');
    expect(() => labelOf({ precipitation: null }, gt, 3)).toThrow(ModelingInputError);
    expect(() => labelOf({ precipitation: '' }, gt, 3)).toThrow(/missing at row 3/);
    const err = (() => {
      try {
        labelOf({ precipitation: 'lots' }, gt, 4);
      } catch (e) {
        return e;
      }
    })() as ModelingInputError;
    expect(err).toBeInstanceOf(ModelingInputError);
    expect(err.name).toBe('ModelingInputError');
    expect(err.message).toBe('label column "precipitation" at row 4: value "lots" is not a number (rule: gt 0)');
    expect(err.details).toEqual({ row: 4, column: 'precipitation', value: 'lots' });
  });

  it('rejects an empty positive rule', () => {
    expect(() => labelOf({ p: 1 }, { column: 'p', positive: {} })).toThrow(/needs one of gt, gte, lt, eq, in/);
  });
});

describe('labelsOf', () => {
  it('returns a Float32Array and reports the failing row index', () => {
    const rows = [{ p: 0 }, { p: 1.5 }, { p: 0 }, { p: 'x' }];
    expect(Array.from(labelsOf(rows.slice(0, 3), { column: 'p', positive: { gt: 0 } }))).toEqual([0, 1, 0]);
    expect(labelsOf([], { column: 'p' })).toBeInstanceOf(Float32Array);
    expect(() => labelsOf(rows, { column: 'p', positive: { gt: 0 } })).toThrow(/at row 3/);
  });
});

describe('labelsOf with a regression head', () => {
  it('yields the raw numeric value of the label column', () => {
    const rows = [{ wage: '5.1' }, { wage: 4 }, { wage: ' 22.5 ' }];
    expect(Array.from(labelsOf(rows, { column: 'wage' }, 'regression'))).toEqual([Math.fround(5.1), 4, 22.5]);
  });

  it('refuses a missing or non-numeric target, naming the row', () => {
    expect(() => labelsOf([{ wage: 1 }, { wage: null }], { column: 'wage' }, 'regression')).toThrow('label column "wage" is missing at row 1');
    expect(() => labelsOf([{ wage: 'n/a' }], { column: 'wage' }, 'regression')).toThrow(/at row 0: value "n\/a" is not a number/);
  });
});
