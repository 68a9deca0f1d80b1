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
  /** Allowed values of a category column; absent means any (the first batch's values are pinned). */
  values: z.array(z.string()).optional(),
  /**
   * What a category not in `values` (or, without `values`, not in the pinned first batch) does:
   * `quarantine` the row, `flag` the batch but keep the row, or `accept` it. Default: quarantine
   * when `values` is declared, flag otherwise.
   */
  onUnseen: z.enum(['quarantine', 'flag', 'accept']).optional(),
  /** Each value must appear once in a batch (an entity id); a repeat is quarantined. Default false. */
  unique: z.boolean().optional(),
});

/** Batch-level checks against the profile pinned from the first accepted batch. */
export const batchChecksSchema = z.strictObject({
  /** `reject` keeps the batch out of training (its rows stay stored); `flag` keeps it in with a report. Default reject. */
  onProblem: z.enum(['reject', 'flag']).default('reject'),
  /** A column's null rate may exceed its pinned rate by this much (absolute). Default 0.1. */
  maxNullRateIncrease: z.number().min(0).max(1).default(0.1),
  /** A numeric column's median may move this many pinned inter-quartile ranges. Default 3. */
  maxMedianShiftIqr: z.number().positive().default(3),
  /**
   * What a median shift does: `flag` (default: seasons move medians too, and a unit change of a
   * column with declared min/max is caught by the range check) or `reject`.
   */
  onMedianShift: z.enum(['flag', 'reject']).default('flag'),
  /** The reference profile: the `first` usable batch's (default), or the `latest` usable batch's (a rolling reference for data that moves). */
  pin: z.enum(['first', 'latest']).default('first'),
  /** Share of a numeric column's values outside its declared min/max above which the batch is a problem (a unit change). Default 0.05. */
  maxOutOfRangeShare: z.number().min(0).max(1).default(0.05),
  /** A batch with the same bytes as an earlier one: `flag` it (snapshots de-duplicate its rows) or `reject` it. Default flag. */
  duplicateBatch: z.enum(['flag', 'reject']).default('flag'),
  /** Share of quarantined rows above which the batch itself is a problem. Default 0.5. */
  maxQuarantinedShare: z.number().min(0).max(1).default(0.5),
  /**
   * A binary label's positive rate may move this much (absolute) from the pinned profile's before
   * the shift counts, and only when a two-proportion z-test also finds it (p < 0.001). Default 0.5:
   * monthly batches of Seattle weather move their rain rate by up to 0.48 from a year's, by season.
   */
  maxLabelShift: z.number().gt(0).max(1).default(0.5),
  /**
   * A regression label's median may move this many pinned inter-quartile ranges before the shift
   * counts (also tested: p < 0.001). Default 2: monthly medians of Seattle's weather columns move
   * up to 1.6 ranges from a year's.
   */
  maxLabelShiftIqr: z.number().positive().default(2),
  /** What a label shift does: `flag` the batch (default: a real change can move labels too) or `reject` it. */
  onLabelShift: z.enum(['flag', 'reject']).default('flag'),
  /**
   * The champion's AUC on a batch's labels at or below which, when a one-sided rank-sum test also
   * finds it below a coin's (p < 0.01), the labels are taken as inverted. Default 0.4.
   */
  labelInversionAuc: z.number().min(0).lt(0.5).default(0.4),
  /**
   * What labels the champion scores far below chance do: `reject` the batch (default: a model that
   * was right about the past is almost never confidently wrong about the present, the labels are)
   * or `flag` it.
   */
  onLabelInversion: z.enum(['flag', 'reject']).default('reject'),
});

/** Defaults of `schema.batch`. */
export const BATCH_CHECK_DEFAULTS = {
  onProblem: 'reject',
  maxNullRateIncrease: 0.1,
  maxMedianShiftIqr: 3,
  onMedianShift: 'flag',
  pin: 'first',
  maxOutOfRangeShare: 0.05,
  duplicateBatch: 'flag',
  maxQuarantinedShare: 0.5,
  maxLabelShift: 0.5,
  maxLabelShiftIqr: 2,
  onLabelShift: 'flag',
  labelInversionAuc: 0.4,
  onLabelInversion: 'reject',
} as const;

/**
 * `schema:` — the columns every batch must have: declared in `columns`, or (`infer: true`)
 * inferred from the first accepted batch and pinned by the ingestion service (TFX SchemaGen):
 * types, nullability, numeric ranges with a margin, categories.
 */
export const schemaSection = z
  .strictObject({
    /** The declared columns; empty (the default) only with `infer: true`. */
    columns: z.array(columnSchema).default([]),
    /** Infer the columns from the first accepted batch and pin them. Default false. */
    infer: z.boolean().default(false),
    /** The entity id column: rows of one entity never land in two splits. */
    entity: columnName.optional(),
    /** The timestamp column (type date): time windows and time-based splits use it. */
    timestamp: columnName.optional(),
    batch: batchChecksSchema.default(BATCH_CHECK_DEFAULTS),
  })
  .superRefine((schema, ctx) => {
    if (schema.infer && schema.columns.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['infer'], message: 'give either schema.columns or schema.infer: true, not both (an inferred schema is pinned from the first accepted batch)' });
    } else if (!schema.infer && schema.columns.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'must declare at least one column, or set schema.infer: true to infer them from the first accepted batch' });
    }
  });
