import { inferColumns, MAX_CATEGORIES, rangeWithMargin, SpecError, validateSpec, type ColumnSpec, type PipelineSpec } from '@refit/spec';
import type { BatchProfile } from './profile.js';

/** Rows of the first batch the column types are inferred from before the rest is checked. */
export const INFER_SAMPLE_ROWS = 10_000;

/** The spec with the columns batches are validated against (declared, or pinned). */
export function withColumns(spec: PipelineSpec, columns: ColumnSpec[]): PipelineSpec {
  return { ...spec, schema: { ...spec.schema, columns } };
}

/**
 * Columns the first batch of an inferring pipeline is checked with: the types inferred from its
 * first rows, every column nullable and unbounded (nullability, ranges and categories are pinned
 * from the whole batch afterwards, see {@link pinnedColumns}).
 */
export function sampleColumns(header: string[], sample: ReadonlyArray<ReadonlyArray<string | undefined>>): ColumnSpec[] {
  return inferColumns(
    header.map((h) => h.trim()),
    sample,
  ).map((c) => ({ name: c.name, type: c.type, nullable: true }));
}

/**
 * The schema pinned from a first batch: its inferred types; nullable only where the batch had
 * empty values; numeric ranges from the batch's extremes with a margin; for a category column with
 * few values, those values (a new one flags a later batch, as with a declared `onUnseen: flag`).
 */
export function pinnedColumns(columns: ColumnSpec[], profile: BatchProfile): ColumnSpec[] {
  return columns.map((c) => {
    const p = profile.columns[c.name];
    const col: ColumnSpec = { name: c.name, type: c.type, nullable: (p?.nulls ?? 0) > 0 };
    if ((c.type === 'number' || c.type === 'integer') && p?.min !== undefined && p.max !== undefined) Object.assign(col, rangeWithMargin(p.min, p.max, c.type === 'integer'));
    if (c.type === 'category') {
      const values = Object.keys(p?.categories ?? {});
      if (values.length > 0 && values.length <= MAX_CATEGORIES && !values.includes('__more__')) col.values = values.sort();
      col.onUnseen = 'flag';
    }
    return col;
  });
}

/**
 * Checks the spec's column references (label, features, entity, timestamp, slices…) against an
 * inferred schema, as `refit pipeline apply` does for declared columns: why it does not fit, or
 * undefined when it does.
 */
export function misfit(spec: PipelineSpec, columns: ColumnSpec[]): string | undefined {
  try {
    validateSpec({ ...spec, schema: { ...spec.schema, infer: false, columns } });
    return undefined;
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return `the schema inferred from this batch (${columns.map((c) => `${c.name}: ${c.type}`).join(', ')}) does not fit pipeline '${spec.name}': ${e.problems.join('; ')}`;
  }
}
