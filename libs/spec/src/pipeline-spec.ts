import { z } from 'zod';
import { DATA_DEFAULTS, dataSection } from './sections/data.js';
import { featuresSection } from './sections/features.js';
import { GATES_DEFAULTS, gatesSection, type metricName } from './sections/gates.js';
import { labelSection } from './sections/label.js';
import { MODEL_DEFAULTS, modelSection } from './sections/model.js';
import { schemaSection } from './sections/schema.js';
import { triggersSection } from './sections/triggers.js';

export { COLUMN_TYPES } from './sections/schema.js';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter');

/**
 * The zod schema of a pipeline spec (`refit pipeline apply -f spec.yaml`). Each section lives in
 * `sections/<name>.ts`; cross-section rules (a feature must be a declared column…) are here.
 */
export const pipelineSpecSchema = z
  .strictObject({
    apiVersion: z.literal('refit/v1'),
    kind: z.literal('Pipeline'),
    name,
    description: z.string().optional(),
    schema: schemaSection,
    label: labelSection,
    features: featuresSection,
    data: dataSection.default(DATA_DEFAULTS),
    model: modelSection.default(MODEL_DEFAULTS),
    gates: gatesSection.default(GATES_DEFAULTS),
    triggers: triggersSection,
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
