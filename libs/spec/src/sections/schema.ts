import { z } from 'zod';
import { columnName } from './common.js';

/** Column types a pipeline schema can declare. */
export const COLUMN_TYPES = ['number', 'integer', 'string', 'category', 'boolean', 'date'] as const;

/** One declared column of the data. */
export const columnSchema = z.strictObject({
  name: columnName,
  type: z.enum(COLUMN_TYPES),
  /** Whether an empty value is allowed. Default false. */
  nullable: z.boolean().default(false),
  min: z.number().optional(),
  max: z.number().optional(),
  /** Allowed values of a category column; absent means any. */
  values: z.array(z.string()).optional(),
});

/** `schema:` — the columns every batch must have. */
export const schemaSection = z.strictObject({ columns: z.array(columnSchema).min(1, 'must declare at least one column') });
