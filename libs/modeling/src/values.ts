/** Cell-level parsing shared by labels and transforms (`dateMs` is also exported for the services). */
import { ModelingInputError } from './errors.js';

/** Cell value as it can appear in a {@link RawRow}. */
export type Cell = string | number | boolean | null | undefined;

/** True for null, undefined, NaN and blank strings: the cell carries no value. */
export function isMissing(v: Cell): v is null | undefined | '' {
  if (v === null || v === undefined) return true;
  if (typeof v === 'number') return Number.isNaN(v);
  if (typeof v === 'string') return v.trim() === '';
  return false;
}

/**
 * Reads a present cell as a finite number: numbers as-is, numeric strings parsed ("12.5", " 3 "),
 * booleans as 1/0. Returns undefined when the value is not a finite number.
 */
export function toNumber(v: string | number | boolean): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  // A struct or list cell (a JSON object or array where a value was expected) is no number.
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  // Number('') is 0 and Number('0x1f') is 31; only accept plain decimal notation.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Milliseconds since the epoch of a date cell's text (a bare `YYYY-MM-DD` is UTC midnight, anything
 * else as `Date.parse` reads it), or NaN. Every reader of date cells — transforms, snapshot windows,
 * backtest windows — goes through it, so a day is the same instant everywhere.
 */
export function dateMs(v: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
}

/** Category key of a present cell: strings as-is, numbers and booleans in their String() form. */
export function toCategory(v: string | number | boolean): string {
  if (typeof v === 'object') throw new ModelingInputError(`a ${Array.isArray(v) ? 'list' : 'struct'} is no category: ${show(JSON.stringify(v))}`, { value: v });
  return typeof v === 'string' ? v : String(v);
}

/** Short, quoted rendering of a value for error messages. */
export function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
