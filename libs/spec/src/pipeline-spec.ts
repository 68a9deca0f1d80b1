import { z } from 'zod';
import { ALERTS_DEFAULTS, alertsSection } from './sections/alerts.js';
import { businessRules, businessSection } from './sections/business.js';
import { DATA_DEFAULTS, dataSection } from './sections/data.js';
import { EVALUATION_DEFAULTS, evaluationSection } from './sections/evaluation.js';
import { featuresSection } from './sections/features.js';
import { GATES_DEFAULTS, gatesSection, REGRESSION_GATES_DEFAULTS, REGRESSION_METRICS, type backtestRule, type championRule, type fairnessRule, type metricName } from './sections/gates.js';
import { regressionRules } from './sections/label.js';
import { labelSection } from './sections/label.js';
import { MODEL_DEFAULTS, modelSection } from './sections/model.js';
import { ROLLOUT_DEFAULTS, rolloutRules, rolloutSection } from './sections/rollout.js';
import { schemaSection } from './sections/schema.js';
import { HYGIENE_DEFAULTS, hygieneSection, triggersSection } from './sections/triggers.js';

export { COLUMN_TYPES } from './sections/schema.js';

const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** True for a possible pipeline name: lower-case letters, digits and dashes, starting with a letter, at most 63. */
export const isPipelineName = (value: string): boolean => PIPELINE_NAME.test(value);

const name = z.string().regex(PIPELINE_NAME, 'must be lower-case letters, digits and dashes, starting with a letter');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// The gates left out of a regression spec are a regression's (the defaults are a classifier's).
function regressionGateDefaults(value: unknown): unknown {
  if (!isRecord(value) || !isRecord(value.model) || value.model.head !== 'regression') return value;
  if (value.gates !== undefined && !isRecord(value.gates)) return value;
  return { ...value, gates: { ...REGRESSION_GATES_DEFAULTS, ...value.gates } };
}

const pipelineObject = z
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
    evaluation: evaluationSection.default(EVALUATION_DEFAULTS),
    triggers: triggersSection,
    hygiene: hygieneSection.default(HYGIENE_DEFAULTS),
    rollout: rolloutSection.default(ROLLOUT_DEFAULTS),
    alerts: alertsSection.default(ALERTS_DEFAULTS),
    /** Cost matrix, business metrics and the decision threshold. Default none. */
    business: businessSection.optional(),
  })
  .superRefine((spec, ctx) => {
    // Business-metric names are checked even for an inferred schema; their columns only once it is known.
    const businessColumns = spec.schema.infer ? undefined : new Map(spec.schema.columns.map((c) => [c.name, c.type]));
    for (const issue of businessRules(spec, businessColumns)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of rolloutRules(spec)) ctx.addIssue({ code: 'custom', ...issue });
    // An inferred schema is not known before the first batch: the ingestion service checks the
    // column references below against it then (it runs this same validation with the columns in).
    if (spec.schema.infer) {
      spec.features.forEach((f, i) => {
        if (f.name === spec.label.column) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `'${f.name}' is the label column; a feature must not leak the label` });
      });
      return;
    }
    const columns = new Map<string, ColumnSpec>();
    spec.schema.columns.forEach((c, i) => {
      if (columns.has(c.name)) ctx.addIssue({ code: 'custom', path: ['schema', 'columns', i, 'name'], message: `duplicate column '${c.name}'` });
      else columns.set(c.name, c);
    });
    if (!columns.has(spec.label.column)) {
      ctx.addIssue({ code: 'custom', path: ['label', 'column'], message: `'${spec.label.column}' is not a column of schema.columns` });
    }
    const evaluationColumns: Array<[Array<string | number>, string]> = [
      ...spec.evaluation.slices.map((c, i): [Array<string | number>, string] => [['evaluation', 'slices', i], c]),
      ...spec.evaluation.sensitive.map((c, i): [Array<string | number>, string] => [['evaluation', 'sensitive', i], c]),
      ...(spec.gates.fairness ?? []).map((r, i): [Array<string | number>, string] => [['gates', 'fairness', i, 'sensitive'], r.sensitive]),
      ...(spec.evaluation.holdout ? [[['evaluation', 'holdout', 'column'], spec.evaluation.holdout.column] as [Array<string | number>, string]] : []),
      ...(spec.evaluation.consistency?.exclude ?? []).map((c, i): [Array<string | number>, string] => [['evaluation', 'consistency', 'exclude', i], c]),
    ];
    for (const [path, c] of evaluationColumns) {
      if (!columns.has(c)) ctx.addIssue({ code: 'custom', path, message: `'${c}' is not a column of schema.columns` });
    }
    spec.features.forEach((f, i) => {
      const col = columns.get(f.name);
      if (!col) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `'${f.name}' is not a column of schema.columns` });
      } else if (f.name === spec.label.column) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `'${f.name}' is the label column; a feature must not leak the label` });
      } else if (f.type === 'number' && col.type !== 'number' && col.type !== 'integer') {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'type'], message: `'${f.name}' is declared ${col.type} in schema.columns, not a number` });
      } else if (f.type === 'date' && col.type !== 'date') {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'type'], message: `'${f.name}' is declared ${col.type} in schema.columns, not a date` });
      }
    });
    for (const key of ['entity', 'timestamp'] as const) {
      const ref = spec.schema[key];
      if (ref === undefined) continue;
      const col = columns.get(ref);
      if (!col) ctx.addIssue({ code: 'custom', path: ['schema', key], message: `'${ref}' is not a column of schema.columns` });
      else if (key === 'timestamp' && col.type !== 'date') ctx.addIssue({ code: 'custom', path: ['schema', key], message: `'${ref}' is declared ${col.type}; the timestamp column must be a date` });
    }
    const needsTime = spec.data.split.by === 'time' ? ['data', 'split', 'by'] : typeof spec.data.window === 'object' && 'time' in spec.data.window ? ['data', 'window', 'time'] : undefined;
    if (needsTime && !spec.schema.timestamp) {
      ctx.addIssue({ code: 'custom', path: needsTime, message: 'needs schema.timestamp (the date column that orders the rows)' });
    }
    for (const issue of regressionRules(spec, columns.get(spec.label.column)?.type)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of backtestRules(spec, columns)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of consistencyRules(spec)) ctx.addIssue({ code: 'custom', ...issue });
  });

/** Cross-section rules of a backtest: a date column to cut windows by, windows for its gate, a metric of the head. */
type BacktestedSpec = {
  schema: { timestamp?: string };
  model: { head?: 'binary' | 'regression' };
  evaluation: z.output<typeof evaluationSection>;
  gates: z.output<typeof gatesSection>;
};

function backtestRules(spec: BacktestedSpec, columns: ReadonlyMap<string, { type: string }>): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const bt = spec.evaluation.backtest;
  const column = bt?.column ?? spec.schema.timestamp;
  const path = bt?.column ? ['evaluation', 'backtest', 'column'] : ['evaluation', 'backtest'];
  if (bt && !column) issues.push({ path, message: 'needs a date column to cut windows by: set evaluation.backtest.column or schema.timestamp' });
  else if (bt && column && !columns.has(column)) issues.push({ path, message: `'${column}' is not a column of schema.columns` });
  else if (bt && column && columns.get(column)?.type !== 'date') issues.push({ path, message: `'${column}' is declared ${columns.get(column)?.type}; backtest windows need a date column` });
  const gate = spec.gates.backtest;
  if (gate && !bt) issues.push({ path: ['gates', 'backtest'], message: 'needs evaluation.backtest (the windows to judge)' });
  if (gate?.metric && REGRESSION_METRICS.has(gate.metric) !== (spec.model.head === 'regression')) {
    issues.push({ path: ['gates', 'backtest', 'metric'], message: `${gate.metric} does not fit a ${spec.model.head ?? 'binary'} head` });
  }
  return issues;
}

/** Individual fairness compares predicted labels: a classifier's, like the group-fairness rules. */
function consistencyRules(spec: { model: { head?: 'binary' | 'regression' }; evaluation: { consistency?: unknown }; gates: { consistency?: unknown } }): Array<{ path: string[]; message: string }> {
  if (spec.model.head !== 'regression') return [];
  return (['evaluation', 'gates'] as const).flatMap((section) => (spec[section].consistency ? [{ path: [section, 'consistency'], message: 'applies to a binary head only' }] : []));
}

/**
 * The zod schema of a pipeline spec (`refit pipeline apply -f spec.yaml`). Each section lives in
 * `sections/<name>.ts`; cross-section rules (a feature must be a declared column…) are here.
 */
export const pipelineSpecSchema = z.preprocess(regressionGateDefaults, pipelineObject);

/** A validated pipeline spec with every default filled in. */
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
/** One declared column of the pipeline's data schema. */
export type ColumnSpec = PipelineSpec['schema']['columns'][number];
/** One trigger policy of a pipeline. */
export type TriggerPolicy = PipelineSpec['triggers'][number];
/** The pipeline's trigger hygiene rules. */
export type Hygiene = PipelineSpec['hygiene'];
/** A metric name usable in gates. */
export type GateMetric = z.output<typeof metricName>;
/** One comparison with the champion (`gates.champion`). */
export type ChampionRule = z.output<typeof championRule>;
/** One fairness limit (`gates.fairness`). */
export type FairnessRule = z.output<typeof fairnessRule>;
/** The `rollout:` section with defaults filled in. */
export type RolloutSpec = PipelineSpec['rollout'];
/** The `alerts:` section with defaults filled in. */
export type AlertsSpec = PipelineSpec['alerts'];
/** The gate on the backtest (`gates.backtest`). */
export type BacktestRule = z.output<typeof backtestRule>;
/** The `business:` section with defaults filled in. */
export type BusinessSpec = NonNullable<PipelineSpec['business']>;
/** The `evaluation:` section with defaults filled in. */
export type EvaluationSpec = PipelineSpec['evaluation'];
