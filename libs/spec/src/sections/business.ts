import { z } from 'zod';
import { compileExpression, ExpressionError, type ExpressionColumns } from '../business-expr.js';
import { BUILTIN_METRIC_NAMES, businessMetricName } from './business-names.js';
import { lowerIsBetter } from './gates.js';

const cost = z.number().finite();

/** The cost matrix: the cost of each outcome (negative = a gain). Each defaults to 0. */
export const costsSchema = z.strictObject({
  /** Cost of a false positive. Default 0. */
  fp: cost.default(0),
  /** Cost of a false negative. Default 0. */
  fn: cost.default(0),
  /** Cost of a true positive (negative for a gain). Default 0. */
  tp: cost.default(0),
  /** Cost of a true negative (negative for a gain). Default 0. */
  tn: cost.default(0),
});

/** One named business metric: an expression (see `compileExpression`) and which way is better. */
export const businessMetric = z.strictObject({
  /** The expression, e.g. `1000 * cost / n` or `sum(tp_row * amount) - 5 * fp`. */
  expr: z.string().min(1, 'must not be empty'),
  /** `minimize` (a cost) or `maximize` (a gain). */
  goal: z.enum(['minimize', 'maximize']),
});

/**
 * `business:` — what the model's decisions cost. `costs` is the cost matrix; `metrics` are named
 * expressions over the confusion counts at the model's decision threshold and per-row values,
 * reported by the evaluator (candidate and champion, each at its own threshold) and the deployer
 * (per monitoring window, from feedback), and usable in `gates.floors`, `gates.champion` and
 * performance triggers. `threshold: { choose: minCost }` makes the trainer pick the decision
 * threshold that minimizes the total cost on the validation split and store it with the model
 * (default: 0.5).
 *
 * Expression grammar: numbers, `+ - * /`, parentheses; `tp fp tn fn n pos neg cost` and
 * `costs.fp costs.fn costs.tp costs.tn`; `sum(x)` / `mean(x)` of a per-row `x` that may use
 * `tp_row fp_row tn_row fn_row y pred cost_row` and numeric schema columns; `min`, `max`, `abs`.
 */
export const businessSection = z
  .strictObject({
    /** The cost matrix. Default all 0. */
    costs: costsSchema.default({ fp: 0, fn: 0, tp: 0, tn: 0 }),
    /** How the decision threshold is set: `{ choose: minCost }` on the validation split, or `{ fixed: 0.3 }`. Default 0.5. */
    threshold: z.union([z.strictObject({ choose: z.literal('minCost') }), z.strictObject({ fixed: z.number().gt(0).lt(1) })]).optional(),
    /** Named business metrics. Default none. */
    metrics: z.record(z.string(), businessMetric).default({}),
  })
  .superRefine((business, ctx) => {
    // Syntax and terms here; the column references are checked against the schema by businessRules.
    for (const [name, m] of Object.entries(business.metrics)) {
      const bad = businessMetricName.safeParse(name);
      if (!bad.success) ctx.addIssue({ code: 'custom', path: ['metrics', name], message: `'${name}' ${bad.error.issues[0].message}` });
      try {
        compileExpression(m.expr);
      } catch (err) {
        if (!(err instanceof ExpressionError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['metrics', name, 'expr'], message: err.message });
      }
    }
  });

/** The `business:` section with defaults filled in. */
export type BusinessSpec = z.output<typeof businessSection>;

function parses(expr: string): boolean {
  try {
    compileExpression(expr);
    return true;
  } catch {
    return false;
  }
}

/** What {@link businessRules} reads of a spec. */
type BusinessRefs = {
  business?: BusinessSpec;
  gates: { floors: Partial<Record<string, number>>; champion: { metric: string; slices?: boolean } | Array<{ metric: string; slices?: boolean }> };
  triggers?: ReadonlyArray<{ kind: string; metric?: string }>;
  model?: { head?: 'binary' | 'regression' };
};

/**
 * Cross-section rules of `business:`: every column an expression reads is a numeric schema column
 * (skipped when `columns` is undefined: an inferred schema), and every gate metric that is not
 * built in is a declared business metric.
 */
export function businessRules(spec: BusinessRefs, columns: ExpressionColumns | undefined): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const declared = Object.keys(spec.business?.metrics ?? {});
  // Costs and thresholds are about a classifier's decisions.
  if (spec.business && spec.model?.head === 'regression') issues.push({ path: ['business'], message: 'applies to a binary head only' });
  if (columns) {
    for (const [name, m] of Object.entries(spec.business?.metrics ?? {})) {
      try {
        // An expression that does not even parse was reported by the section itself.
        if (!parses(m.expr)) continue;
        compileExpression(m.expr, columns);
      } catch (err) {
        if (!(err instanceof ExpressionError)) throw err;
        issues.push({ path: ['business', 'metrics', name, 'expr'], message: err.message });
      }
    }
  }
  const unknown = (metric: string) => `unknown metric '${metric}': neither a built-in metric nor declared in business.metrics${declared.length ? ` (declared: ${declared.join(', ')})` : ''}`;
  for (const metric of Object.keys(spec.gates.floors)) {
    if (!BUILTIN_METRIC_NAMES.has(metric) && !declared.includes(metric)) issues.push({ path: ['gates', 'floors', metric], message: unknown(metric) });
  }
  const rules = spec.gates.champion;
  (Array.isArray(rules) ? rules : [rules]).forEach((r, i) => {
    const at = Array.isArray(rules) ? ['gates', 'champion', i] : ['gates', 'champion'];
    if (!BUILTIN_METRIC_NAMES.has(r.metric) && !declared.includes(r.metric)) issues.push({ path: [...at, 'metric'], message: unknown(r.metric) });
    else if (declared.includes(r.metric) && r.slices) issues.push({ path: [...at, 'slices'], message: `per-slice comparisons are not supported for the business metric '${r.metric}'` });
  });
  // Live windows carry confusion counts, not the rows' column values: a performance trigger can
  // watch a business metric only when it reads no column.
  (spec.triggers ?? []).forEach((t, i) => {
    if (t.kind !== 'performance' || t.metric === undefined || BUILTIN_METRIC_NAMES.has(t.metric)) return;
    const m = spec.business?.metrics[t.metric];
    if (!m) issues.push({ path: ['triggers', i, 'metric'], message: unknown(t.metric) });
    else if (parses(m.expr) && compileExpression(m.expr).columns.length > 0) {
      issues.push({ path: ['triggers', i, 'metric'], message: `'${t.metric}' reads the column(s) ${compileExpression(m.expr).columns.join(', ')}, which live feedback does not carry; a performance trigger can watch a business metric of confusion counts only` });
    }
  });
  return issues;
}

/** True when `metric` is one of the spec's business metrics. */
export function isBusinessMetric(spec: { business?: BusinessSpec }, metric: string): boolean {
  return Object.hasOwn(spec.business?.metrics ?? {}, metric);
}

/** Like `lowerIsBetter`, but a business metric's orientation is its declared goal. */
export function lowerIsBetterIn(spec: { business?: BusinessSpec }, metric: string): boolean {
  const m = spec.business?.metrics[metric];
  return m ? m.goal === 'minimize' : lowerIsBetter(metric);
}
