import { z } from 'zod';

/** Column types a pipeline schema can declare. */
export const COLUMN_TYPES = ['number', 'integer', 'string', 'category', 'boolean', 'date'] as const;

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter');
const columnName = z.string().min(1, 'must not be empty');

const column = z.strictObject({
  name: columnName,
  type: z.enum(COLUMN_TYPES),
  /** Whether an empty value is allowed. Default false. */
  nullable: z.boolean().default(false),
  min: z.number().optional(),
  max: z.number().optional(),
  /** Allowed values of a category column; absent means any. */
  values: z.array(z.string()).optional(),
});

const positive = z
  .strictObject({
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    eq: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .refine((p) => Object.values(p).filter((v) => v !== undefined).length === 1, 'must have exactly one of gt, gte, lt, eq, in');

const feature = z.strictObject({
  name: columnName,
  type: z.enum(['number', 'category']),
  transform: z.enum(['standardize', 'onehot', 'none']).optional(),
});

const model = z.strictObject({
  kind: z.enum(['logistic', 'mlp']).default('logistic'),
  hidden: z.array(z.number().int().positive()).optional(),
  activation: z.enum(['relu', 'tanh']).optional(),
  epochs: z.number().int().positive().max(10_000).default(50),
  batchSize: z.number().int().positive().default(64),
  learningRate: z.number().positive().optional(),
  l2: z.number().min(0).optional(),
  seed: z.number().int().default(42),
});

const metricName = z.enum(['accuracy', 'auc', 'logLoss', 'precision', 'recall', 'f1', 'brier']);

const gates = z.strictObject({
  /** Absolute floors every candidate must meet (for log loss and brier: ceilings). */
  floors: z.partialRecord(metricName, z.number()).default({ accuracy: 0.5 }),
  /** Comparison with the champion: not worse than it by more than `margin` on `metric`. */
  champion: z
    .strictObject({ metric: metricName.default('auc'), margin: z.number().min(0).default(0) })
    .default({ metric: 'auc', margin: 0 }),
});

const split = z
  .strictObject({
    train: z.number().positive().default(0.7),
    validation: z.number().min(0).default(0.15),
    test: z.number().positive().default(0.15),
    seed: z.number().int().default(7),
  })
  .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, 'train + validation + test must add up to 1');

const data = z.strictObject({
  /** Which accepted batches make the training window: all of them, or the latest N. */
  window: z.union([z.literal('all'), z.strictObject({ lastBatches: z.number().int().positive() })]).default('all'),
  split: split.default({ train: 0.7, validation: 0.15, test: 0.15, seed: 7 }),
});

const trigger = z.strictObject({ kind: z.enum(['manual']) });

/** The zod schema of a pipeline spec (`refit pipeline apply -f spec.yaml`). */
export const pipelineSpecSchema = z
  .strictObject({
    apiVersion: z.literal('refit/v1'),
    kind: z.literal('Pipeline'),
    name,
    description: z.string().optional(),
    schema: z.strictObject({ columns: z.array(column).min(1, 'must declare at least one column') }),
    label: z.strictObject({ column: columnName, positive: positive.optional() }),
    features: z.array(feature).min(1, 'must declare at least one feature'),
    data: data.default({ window: 'all', split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 } }),
    model: model.default({ kind: 'logistic', epochs: 50, batchSize: 64, seed: 42 }),
    gates: gates.default({ floors: { accuracy: 0.5 }, champion: { metric: 'auc', margin: 0 } }),
    triggers: z.array(trigger).default([{ kind: 'manual' }]),
  })
  .superRefine((spec, ctx) => {
    const columns = new Map(spec.schema.columns.map((c) => [c.name, c]));
    spec.schema.columns.forEach((c, i) => {
      if (spec.schema.columns.findIndex((o) => o.name === c.name) !== i) {
        ctx.addIssue({ code: 'custom', path: ['schema', 'columns', i, 'name'], message: `duplicate column '${c.name}'` });
      }
    });
    if (!columns.has(spec.label.column)) {
      ctx.addIssue({ code: 'custom', path: ['label', 'column'], message: `'${spec.label.column}' is not a column of schema.columns` });
    }
    spec.features.forEach((f, i) => {
      const col = columns.get(f.name);
      if (!col) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `'${f.name}' is not a column of schema.columns` });
      } else if (f.name === spec.label.column) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `'${f.name}' is the label column; a feature must not leak the label` });
      } else if (f.type === 'number' && col.type !== 'number' && col.type !== 'integer') {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'type'], message: `'${f.name}' is declared ${col.type} in schema.columns, not a number` });
      }
    });
  });

/** A validated pipeline spec with every default filled in. */
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
/** One declared column of the pipeline's data schema. */
export type ColumnSpec = PipelineSpec['schema']['columns'][number];
/** A metric name usable in gates. */
export type GateMetric = z.output<typeof metricName>;
