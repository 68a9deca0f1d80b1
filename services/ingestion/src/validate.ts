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

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, k: number): number => {
  const d = s.charCodeAt(k) - 48;
  return d >= 0 && d <= 9 ? d : -100000;
};

/** True for a plain YYYY-MM-DD naming a real day; checked by hand because it is most dates of most files. */
function isPlainDate(s: string): boolean {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  const y = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const m = digit(s, 5) * 10 + digit(s, 6);
  const d = digit(s, 8) * 10 + digit(s, 9);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > DAYS[m - 1]) return false;
  return m !== 2 || d < 29 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
}

/** `raw` without surrounding white space, allocating only when there is some. */
const trimmed = (raw: string | undefined): string => {
  if (raw === undefined || raw.length === 0) return '';
  return raw.charCodeAt(0) <= 32 || raw.charCodeAt(raw.length - 1) <= 32 ? raw.trim() : raw;
};

function failure(c: ColumnSpec, raw: string | undefined, message: string): { problem: ValueProblem } {
  return { problem: { column: c.name, expected: expectedOf(c), value: raw ?? '', message } };
}

/** Parses one raw value of a column; returns the typed value or the problem with it. */
export function parseValue(c: ColumnSpec, raw: string | undefined): { value: Value } | { problem: ValueProblem } {
  const text = trimmed(raw);
  if (text === '') return c.nullable ? { value: null } : failure(c, raw, `column '${c.name}': a value is required (${expectedOf(c)}), got an empty one`);
  switch (c.type) {
    case 'number':
    case 'integer': {
      // Decimal notation only: Number() would also take '0x1A', '0b11' or 'Infinity'.
      const n = DECIMAL.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) return failure(c, raw, `column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      if (c.type === 'integer' && !Number.isInteger(n)) return failure(c, raw, `column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      if (c.min !== undefined && n < c.min) return failure(c, raw, `column '${c.name}': ${n} is below the minimum ${c.min}`);
      if (c.max !== undefined && n > c.max) return failure(c, raw, `column '${c.name}': ${n} is above the maximum ${c.max}`);
      return { value: n };
    }
    case 'boolean': {
      const b = BOOLEANS[text.toLowerCase()];
      return b === undefined ? failure(c, raw, `column '${c.name}': expected ${expectedOf(c)}, got '${text}'`) : { value: b };
    }
    case 'date': {
      if (isPlainDate(text)) return { value: text };
      if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) || Number.isNaN(Date.parse(text)) || !isCalendarDate(text.slice(0, 10))) {
        return failure(c, raw, `column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
      }
      return { value: text };
    }
    case 'category':
      // onUnseen flag/accept keeps the row; the batch check reports the new value.
      if (c.values && !c.values.includes(text) && (c.onUnseen ?? 'quarantine') === 'quarantine') return failure(c, raw, `column '${c.name}': expected ${expectedOf(c)}, got '${text}'`);
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

/** A name a header gives more than one column, with the (1-based) positions of those columns. */
export type DuplicateName = { name: string; columns: number[] };

/**
 * Names the header gives more than one column, in order of first appearance. Such a file is
 * refused: which column holds the data is a guess (the first one used to win silently).
 */
export function duplicateNames(header: readonly string[]): DuplicateName[] {
  const at = new Map<string, number[]>();
  header.forEach((h, i) => {
    const name = h.trim();
    const seen = at.get(name);
    if (seen) seen.push(i + 1);
    else at.set(name, [i + 1]);
  });
  return [...at].filter(([, columns]) => columns.length > 1).map(([name, columns]) => ({ name, columns }));
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
