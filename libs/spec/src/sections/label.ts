import { z } from 'zod';
import { columnName } from './common.js';
import { REGRESSION_METRICS } from './gates.js';

const positive = z
  .strictObject({
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    eq: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .refine((p) => Object.values(p).filter((v) => v !== undefined).length === 1, 'must have exactly one of gt, gte, lt, eq, in');

/** `label:` — the column to predict and, for a derived binary label, the rule for a positive. */
export const labelSection = z.strictObject({ column: columnName, positive: positive.optional() });

/** What {@link regressionRules} reads of a spec. */
type HeadedSpec = {
  label: { column: string; positive?: unknown };
  model: { head?: 'binary' | 'regression' };
  gates: { floors: Partial<Record<string, number>>; champion: { metric: string } | Array<{ metric: string }>; fairness?: unknown[] };
  evaluation: { sensitive: string[] };
};

/** One problem found by {@link regressionRules}: the field and what is wrong with it. */
export type HeadIssue = { path: Array<string | number>; message: string };

/**
 * Cross-section rules of the model head. A regression head predicts the raw value of a numeric
 * label: no `positive` rule, a `number`/`integer` label column, regression gate metrics (mae, rmse,
 * r2) and no fairness (its rates need a classifier). A binary head uses no regression metric.
 * @param labelType - the label column's declared type (undefined when it is not declared).
 */
export function regressionRules(spec: HeadedSpec, labelType: string | undefined): HeadIssue[] {
  const regression = spec.model.head === 'regression';
  const issues: HeadIssue[] = [];
  const fits = (metric: string) => REGRESSION_METRICS.has(metric) === regression;
  const why = (metric: string) => (regression ? `${metric} is a classifier's metric; a regression head is gated on mae, rmse or r2` : `${metric} applies to a regression head (model.head: regression) only`);
  for (const metric of Object.keys(spec.gates.floors)) if (!fits(metric)) issues.push({ path: ['gates', 'floors', metric], message: why(metric) });
  const rules = spec.gates.champion;
  (Array.isArray(rules) ? rules : [rules]).forEach((r, i) => {
    if (!fits(r.metric)) issues.push({ path: Array.isArray(rules) ? ['gates', 'champion', i, 'metric'] : ['gates', 'champion', 'metric'], message: why(r.metric) });
  });
  if (!regression) return issues;
  const col = spec.label.column;
  if (spec.label.positive !== undefined) {
    issues.push({ path: ['label', 'positive'], message: `a regression head predicts the value of '${col}' itself: remove positive (or use model.head: binary)` });
  }
  if (labelType !== undefined && labelType !== 'number' && labelType !== 'integer') {
    issues.push({ path: ['label', 'column'], message: `'${col}' is declared ${labelType} in schema.columns; a regression head needs a number or integer label` });
  }
  if ((spec.gates.fairness ?? []).length > 0) issues.push({ path: ['gates', 'fairness'], message: 'applies to a binary head only' });
  if (spec.evaluation.sensitive.length > 0) issues.push({ path: ['evaluation', 'sensitive'], message: 'applies to a binary head only' });
  return issues;
}
