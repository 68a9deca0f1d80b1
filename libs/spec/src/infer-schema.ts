/**
 * Schema inference (TFX SchemaGen's idea): column types, nullability and categories from sample
 * rows, and numeric ranges with a margin. Shared by `refit data infer-schema` (prints a schema to
 * declare) and the ingestion service (`schema.infer: true`: infers from the first accepted batch
 * and pins it).
 */

/** Distinct values up to which a text column is taken as a category. */
export const MAX_CATEGORIES = 50;

/** Share of a numeric column's observed span added below and above it in an inferred range. */
export const RANGE_MARGIN = 0.25;

/** One inferred column, as it goes into a spec's `schema.columns`. */
export type InferredColumn = {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'date' | 'category' | 'string';
  nullable?: true;
  min?: number;
  max?: number;
  values?: string[];
  onUnseen?: 'flag';
};

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const BOOLEAN = new Set(['true', 'false', 'yes', 'no']);

/** Infers each column's type, nullability and (for few distinct values) its categories from sample rows (values in `names` order). */
export function inferColumns(names: string[], rows: ReadonlyArray<ReadonlyArray<string | undefined>>): InferredColumn[] {
  return names.map((name, j) => {
    const values = rows.map((r) => (r[j] ?? '').trim());
    const present = values.filter((v) => v !== '');
    const nullable = present.length < values.length ? { nullable: true as const } : {};
    const all = (re: RegExp) => present.length > 0 && present.every((v) => re.test(v));
    if (all(INTEGER)) return { name, type: 'integer', ...nullable };
    if (all(DECIMAL)) return { name, type: 'number', ...nullable };
    if (all(DATE)) return { name, type: 'date', ...nullable };
    if (present.length > 0 && present.every((v) => BOOLEAN.has(v.toLowerCase()))) return { name, type: 'boolean', ...nullable };
    const distinct = [...new Set(present)].sort();
    if (distinct.length <= MAX_CATEGORIES && present.length >= 2 * distinct.length) return { name, type: 'category', ...nullable, values: distinct, onUnseen: 'flag' };
    return { name, type: 'string', ...nullable };
  });
}

/**
 * The range a numeric column is pinned to from its observed extremes: widened by
 * {@link RANGE_MARGIN} of the span on each side (at least 1, or a quarter of the magnitude for a
 * constant), never below 0 for a column that had no negative value, whole for an integer column.
 */
export function rangeWithMargin(observedMin: number, observedMax: number, integer = false): { min: number; max: number } {
  const span = observedMax - observedMin;
  const margin = span > 0 ? span * RANGE_MARGIN : Math.max(1, Math.abs(observedMax) * RANGE_MARGIN);
  let min = observedMin - margin;
  let max = observedMax + margin;
  if (observedMin >= 0) min = Math.max(0, min);
  // Four decimals read cleanly (and avoid 43.275000000000006); a margin makes the rounding moot.
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  min = integer ? Math.floor(min) : round(min);
  max = integer ? Math.ceil(max) : round(max);
  return { min, max };
}
