import type { ColumnSpec } from '@refit/spec';

/** A typed value of a validated row. */
export type Value = string | number | boolean | null;

/** Why one value of a row was refused. */
export type ValueProblem = { column: string; expected: string; value: string; message: string };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True when YYYY-MM-DD names a real day (Date.parse rolls 2013-02-29 over to March 1st). */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number);
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

/** ' between 0 and 10', ' >= 0', ' <= 10' or '' for a numeric column's declared bounds. */
function rangeOf(c: ColumnSpec): string {
  if (c.min !== undefined && c.max !== undefined) return ` between ${c.min} and ${c.max}`;
  if (c.min !== undefined) return ` >= ${c.min}`;
  return c.max !== undefined ? ` <= ${c.max}` : '';
}

function expectedOf(c: ColumnSpec): string {
  switch (c.type) {
    case 'category':
      return c.values ? `one of ${c.values.join(', ')}` : 'a category';
    case 'date':
      return 'a date (YYYY-MM-DD or ISO 8601)';
    case 'integer':
      return `an integer${rangeOf(c)}`;
    case 'boolean':
      return 'a boolean (true/false, 1/0, yes/no)';
    case 'number':
      return `a number${rangeOf(c)}`;
    default:
      return 'a string';
  }
}

/** Parses one raw value of a column; returns the typed value or the problem with it. */
export function parseValue(c: ColumnSpec, raw: string | undefined): { value: Value } | { problem: ValueProblem } {
  const text = (raw ?? '').trim();
  const problem = (message: string) => ({ problem: { column: c.name, expected: expectedOf(c), value: raw ?? '', message } });
  if (text === '') return c.nullable ? { value: null } : problem(`column '${c.name}': a value is required (${expectedOf(c)}), got an empty one`);
  switch (c.type) {
    case 'number':
    case 'integer': {
      // Decimal notation only: Number() would also take '0x1A', '0b11' or 'Infinity'.
      const n = DECIMAL.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) return problem(`column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      if (c.type === 'integer' && !Number.isInteger(n)) return problem(`column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      if (c.min !== undefined && n < c.min) return problem(`column '${c.name}': ${n} is below the minimum ${c.min}`);
      if (c.max !== undefined && n > c.max) return problem(`column '${c.name}': ${n} is above the maximum ${c.max}`);
      return { value: n };
    }
    case 'boolean': {
      const b = BOOLEANS[text.toLowerCase()];
      return b === undefined ? problem(`column '${c.name}': expected ${expectedOf(c)}, got '${text}'`) : { value: b };
    }
    case 'date': {
      if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) || Number.isNaN(Date.parse(text)) || !isCalendarDate(text.slice(0, 10))) {
        return problem(`column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      }
      return { value: text };
    }
    case 'category':
      if (c.values && !c.values.includes(text)) return problem(`column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      return { value: text };
    default:
      return { value: text };
  }
}

/** Maps the header of a file to the schema: the index of each declared column, or the missing ones. */
export function mapHeader(header: string[], columns: ColumnSpec[]): { indexes: number[]; missing: string[]; extra: string[] } {
  const names = header.map((h) => h.trim());
  const indexes = columns.map((c) => names.indexOf(c.name));
  return {
    indexes,
    missing: columns.filter((_, i) => indexes[i] < 0).map((c) => c.name),
    extra: names.filter((n) => !columns.some((c) => c.name === n)),
  };
}

/** Validates one record (values in header order) into a typed row, or the first problem found. */
export function validateRecord(
  record: string[],
  columns: ColumnSpec[],
  indexes: number[],
  headerLength: number,
): { row: Record<string, Value> } | { problem: ValueProblem } {
  if (record.length !== headerLength) {
    return { problem: { column: '', expected: `${headerLength} fields`, value: String(record.length), message: `expected ${headerLength} fields as in the header, got ${record.length}` } };
  }
  const row: Record<string, Value> = {};
  for (let i = 0; i < columns.length; i++) {
    const parsed = parseValue(columns[i], record[indexes[i]]);
    if ('problem' in parsed) return parsed;
    row[columns[i].name] = parsed.value;
  }
  return { row };
}
