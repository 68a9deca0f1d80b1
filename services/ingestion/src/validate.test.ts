import type { ColumnSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { duplicateNames, mapHeader, parseValue, validateRecord } from './validate.js';

const col = (c: Partial<ColumnSpec> & Pick<ColumnSpec, 'name' | 'type'>): ColumnSpec => ({ nullable: false, ...c });

/** The typed value, or the problem's message prefixed with 'PROBLEM: '. */
function parsed(c: ColumnSpec, raw: string | undefined): unknown {
  const r = parseValue(c, raw);
  return 'value' in r ? r.value : `PROBLEM: ${r.problem.message}`;
}

describe('parseValue', () => {
  it('number: decimal notation, trimmed, within the declared bounds', () => {
    const wind = col({ name: 'wind', type: 'number', min: 0 });
    expect(parsed(wind, '4.7')).toBe(4.7);
    expect(parsed(wind, ' 3 ')).toBe(3);
    expect(parsed(wind, '1e2')).toBe(100);
    expect(parsed(wind, '.5')).toBe(0.5);
    expect(parsed(wind, '0')).toBe(0);
    expect(parseValue(wind, 'calm')).toEqual({
      problem: { column: 'wind', expected: 'a number >= 0', value: 'calm', message: "column 'wind': expected a number >= 0, got 'calm'" },
    });
    expect(parseValue(wind, '-0.5')).toEqual({
      problem: { column: 'wind', expected: 'a number >= 0', value: '-0.5', message: "column 'wind': -0.5 is below the minimum 0" },
    });
    for (const bad of ['0x1A', '0b11', 'Infinity', 'NaN', '1,5', '4.7.1', '-', '1e']) {
      expect(parsed(wind, bad), bad).toMatch(/^PROBLEM: column 'wind': expected a number >= 0, got /);
    }
    const temp = col({ name: 'temp_max', type: 'number', min: -60, max: 60 });
    expect(parsed(temp, '-60')).toBe(-60);
    expect(parsed(temp, '60.5')).toBe('PROBLEM: column \'temp_max\': 60.5 is above the maximum 60');
    expect(parseValue(temp, 'x')).toMatchObject({ problem: { expected: 'a number between -60 and 60' } });
    expect(parseValue(col({ name: 'n', type: 'number', max: 1 }), 'x')).toMatchObject({ problem: { expected: 'a number <= 1' } });
  });

  it('integer: whole numbers only', () => {
    const count = col({ name: 'count', type: 'integer', min: 1 });
    expect(parsed(count, '42')).toBe(42);
    expect(parsed(count, '-0')).toBe('PROBLEM: column \'count\': 0 is below the minimum 1');
    expect(parseValue(count, '2.5')).toEqual({
      problem: { column: 'count', expected: 'an integer >= 1', value: '2.5', message: "column 'count': expected an integer >= 1, got '2.5'" },
    });
  });

  it('boolean: true/false, 1/0, yes/no in any case', () => {
    const b = col({ name: 'rained', type: 'boolean' });
    expect(['true', 'FALSE', '1', '0', 'Yes', 'no'].map((v) => parsed(b, v))).toEqual([true, false, true, false, true, false]);
    expect(parseValue(b, 'maybe')).toMatchObject({ problem: { column: 'rained', expected: 'a boolean (true/false, 1/0, yes/no)', value: 'maybe' } });
  });

  it('date: ISO days and timestamps that exist on the calendar', () => {
    const d = col({ name: 'date', type: 'date' });
    for (const ok of ['2012-01-01', '2012-02-29', '2012-01-01T10:00:00Z', '2012-01-01 10:00', '2012-06-30T23:59:59.5+02:00']) expect(parsed(d, ok), ok).toBe(ok);
    for (const bad of ['2013-02-29', '2012-04-31', '2012-02-30', '2012-13-01', '2012-00-10', '01/02/2012', '2012-1-1', 'yesterday']) {
      expect(parseValue(d, bad), bad).toEqual({
        problem: { column: 'date', expected: 'a date (YYYY-MM-DD or ISO 8601)', value: bad, message: `column 'date': expected a date (YYYY-MM-DD or ISO 8601), got '${bad}'` },
      });
    }
  });

  it('category: any text, or one of the declared values', () => {
    expect(parsed(col({ name: 'location', type: 'category' }), 'Seattle')).toBe('Seattle');
    const weather = col({ name: 'weather', type: 'category', values: ['rain', 'sun'] });
    expect(parsed(weather, ' sun ')).toBe('sun');
    expect(parseValue(weather, 'hail')).toMatchObject({ problem: { expected: 'one of rain, sun', message: "column 'weather': expected one of rain, sun, got 'hail'" } });
  });

  it('string: kept as trimmed text', () => {
    expect(parsed(col({ name: 'note', type: 'string' }), '  a, b  ')).toBe('a, b');
  });

  it('an empty value is null when nullable, else a problem naming the expected type', () => {
    expect(parsed(col({ name: 'weather', type: 'category', nullable: true }), '')).toBeNull();
    expect(parsed(col({ name: 'wind', type: 'number', nullable: true }), '   ')).toBeNull();
    expect(parsed(col({ name: 'wind', type: 'number', nullable: true }), undefined)).toBeNull();
    expect(parseValue(col({ name: 'wind', type: 'number', min: 0 }), '')).toEqual({
      problem: { column: 'wind', expected: 'a number >= 0', value: '', message: "column 'wind': a value is required (a number >= 0), got an empty one" },
    });
    expect(parseValue(col({ name: 'date', type: 'date' }), undefined)).toMatchObject({ problem: { column: 'date', value: '' } });
  });
});

describe('mapHeader', () => {
  const columns = [col({ name: 'date', type: 'date' }), col({ name: 'wind', type: 'number' }), col({ name: 'weather', type: 'category' })];

  it('finds each declared column wherever it is, ignoring surrounding spaces, and lists extras', () => {
    expect(mapHeader(['location', ' wind', 'weather ', 'date'], columns)).toEqual({ indexes: [3, 1, 2], missing: [], extra: ['location'] });
  });

  it('lists the declared columns the header lacks (names are case-sensitive)', () => {
    expect(mapHeader(['date', 'Wind'], columns)).toEqual({ indexes: [0, -1, -1], missing: ['wind', 'weather'], extra: ['Wind'] });
  });
});

describe('validateRecord', () => {
  const columns = [col({ name: 'date', type: 'date' }), col({ name: 'wind', type: 'number', min: 0 })];
  const { indexes } = mapHeader(['wind', 'location', 'date'], columns);

  it('types the declared columns and drops the others', () => {
    expect(validateRecord(['4.5', 'Seattle', '2012-01-02'], columns, indexes, 3)).toEqual({ row: { date: '2012-01-02', wind: 4.5 } });
  });

  it('reports a wrong field count before looking at values', () => {
    expect(validateRecord(['x', 'Seattle'], columns, indexes, 3)).toEqual({
      problem: { column: '', expected: '3 fields', value: '2', message: 'expected 3 fields as in the header, got 2' },
    });
  });

  it('reports the first bad value in schema order', () => {
    expect(validateRecord(['-1', 'Seattle', 'soon'], columns, indexes, 3)).toMatchObject({ problem: { column: 'date', value: 'soon' } });
    expect(validateRecord(['-1', 'Seattle', '2012-01-02'], columns, indexes, 3)).toMatchObject({ problem: { column: 'wind', value: '-1' } });
  });
});

describe('duplicateNames', () => {
  it('names each header name given twice or more, with its 1-based columns, in order of first appearance', () => {
    expect(duplicateNames(['a', 'b', ' a', 'c', 'b', 'a'])).toEqual([
      { name: 'a', columns: [1, 3, 6] },
      { name: 'b', columns: [2, 5] },
    ]);
    expect(duplicateNames(['a', 'b', 'c'])).toEqual([]);
  });
});
