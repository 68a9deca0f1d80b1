import { z } from 'zod';
import { compileExpression } from '../business-expr.js';
import type { BusinessSpec } from './business.js';
import { BUILTIN_METRIC_NAMES, businessMetricName } from './business-names.js';
import { columnName } from './common.js';

/** The built-in metrics a rollout analysis can compare (from feedback joined to predictions). */
export const ROLLOUT_BUILTIN_METRICS: ReadonlySet<string> = new Set(['accuracy', 'logLoss', 'auc']);

const notRolloutMetric = (m: string) => `'${m}' is not a rollout metric: accuracy, logLoss, auc, or a business metric of confusion counts (business.metrics)`;

/**
 * A live metric a rollout analysis can compare: accuracy, logLoss, auc, or the name of a business
 * metric (`business.metrics`) that reads no column (checked against the section by {@link rolloutRules}).
 */
export const rolloutMetric = z.string().superRefine((m, ctx) => {
  if (ROLLOUT_BUILTIN_METRICS.has(m)) return;
  if (BUILTIN_METRIC_NAMES.has(m) || !businessMetricName.safeParse(m).success) ctx.addIssue({ code: 'custom', message: notRolloutMetric(m) });
});

/**
 * Operational limits checked at every analysis of a step, before any feedback is needed (the
 * alarms Argo Rollouts and SageMaker act on): a breach rolls the candidate back at once. Each is
 * judged on the candidate's predictions since its step began, once there are `minPredictions`.
 */
export const guardrailsSection = z
  .strictObject({
    /** Largest share of the candidate's rows that may fail to score (failed / (served + failed)). */
    maxErrorRate: z.number().min(0).max(1).optional(),
    /** Largest candidate-to-champion ratio of mean per-row latency in the same step (shadow: on the same rows). */
    maxLatencyRatio: z.number().gt(1).optional(),
    /** Largest mean |candidate − champion| probability on rows both scored. */
    maxDivergence: z.number().gt(0).max(1).optional(),
    /** Fewest candidate predictions in the step before the limits are judged. Default 100. */
    minPredictions: z.number().int().min(1).default(100),
  })
  .refine((g) => g.maxErrorRate !== undefined || g.maxLatencyRatio !== undefined || g.maxDivergence !== undefined, 'needs maxErrorRate, maxLatencyRatio or maxDivergence');

/**
 * `rollout:` — how a candidate that passed its gates reaches production:
 * - `direct` (default): it becomes the champion at once (as when the section is left out);
 * - `shadow`: it scores every request next to the champion, only the champion's answer is
 *   returned, and the two are compared on the same rows once feedback arrives;
 * - `canary`: it answers `steps[i]` percent of the predictions (by a hash of the prediction id),
 *   each step held until its analysis passes;
 * - `ab`: like one canary step of `split` percent, assigned by a hash of `entityColumn` so that an
 *   entity always meets the same model.
 * At each step the candidate is compared with the champion on `metric` (one-sided at `alpha`,
 * non-inferiority `margin`), on traffic of the step's own period only: the two arms served side
 * by side, and at the last canary step (100 %, where the champion answers nothing) the champion's
 * background scores of the same rows. pass → next step (after the last: promoted), fail → rolled
 * back, inconclusive → hold. After `holdMinutes` an inconclusive step follows `onInconclusive`;
 * a step still short of `minLabeled` labeled rows a side is never passed on the clock (rollback
 * applies, promote keeps holding until the labels arrive).
 */
export const rolloutSection = z
  .strictObject({
    /** direct, shadow, canary or ab. Default direct. */
    strategy: z.enum(['direct', 'shadow', 'canary', 'ab']).default('direct'),
    /** Canary weights in percent, increasing, the last one 100. Default [10, 50, 100]. */
    steps: z.array(z.number().int().min(1).max(100)).min(1).default([10, 50, 100]),
    /**
     * Labeled rows a step needs on each side, from its own period, before it is judged (paired steps:
     * rows both models scored); a hold never passes a step without them. Default 200.
     */
    minLabeled: z.number().int().min(10).default(200),
    /**
     * The metric compared: accuracy, logLoss, auc, or a business metric of confusion counts, each
     * version at its own decision threshold. Default accuracy.
     */
    metric: rolloutMetric.default('accuracy'),
    /** Non-inferiority margin in metric units. Default 0.02. */
    margin: z.number().min(0).default(0.02),
    /** One-sided significance level of each step's test. Default 0.05. */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** How long a step may stay inconclusive before `onInconclusive` applies, minutes. Default 60. */
    holdMinutes: z.number().gt(0).default(60),
    /**
     * What an inconclusive step does after `holdMinutes`: promote (the step counts as passed: the
     * next step, or after the last the promotion; never without `minLabeled` labeled rows a side),
     * rollback or hold. Default rollback.
     */
    onInconclusive: z.enum(['promote', 'rollback', 'hold']).default('rollback'),
    /** A/B: the raw column whose value assigns an entity to a variant (sticky). Required for ab. */
    entityColumn: columnName.optional(),
    /** A/B: the candidate's share of entities, percent. Default 50. */
    split: z.number().int().min(1).max(99).default(50),
    /** Operational limits that roll the candidate back without waiting for feedback. Default none. */
    guardrails: guardrailsSection.optional(),
  })
  .superRefine((r, ctx) => {
    r.steps.forEach((w, i) => {
      if (i > 0 && w <= r.steps[i - 1]) ctx.addIssue({ code: 'custom', path: ['steps', i], message: `steps must increase; ${w} follows ${r.steps[i - 1]}` });
    });
    if (r.steps.at(-1) !== 100) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step must be 100 (the candidate serves everything before it is promoted)' });
    if (r.strategy === 'ab' && !r.entityColumn) ctx.addIssue({ code: 'custom', path: ['entityColumn'], message: 'an ab rollout needs entityColumn (the column whose value keeps an entity on one variant)' });
  });

/** Defaults of `rollout:` when it is left out: direct promotion, exactly as without the section. */
export const ROLLOUT_DEFAULTS: z.output<typeof rolloutSection> = {
  strategy: 'direct',
  steps: [10, 50, 100],
  minLabeled: 200,
  metric: 'accuracy',
  margin: 0.02,
  alpha: 0.05,
  holdMinutes: 60,
  onInconclusive: 'rollback',
  split: 50,
};

/** What {@link rolloutRules} reads of a spec. */
type RolloutRefs = { rollout: { metric: string }; business?: Pick<BusinessSpec, 'metrics'> };

/**
 * Cross-section rules of `rollout:`: a rollout metric that is not built in is a declared business
 * metric, and one of confusion counts only (live feedback carries no column values).
 */
export function rolloutRules(spec: RolloutRefs): Array<{ path: Array<string | number>; message: string }> {
  const m = spec.rollout.metric;
  // Built-in names (and names that are no metric at all) are the section's own to report.
  if (ROLLOUT_BUILTIN_METRICS.has(m) || BUILTIN_METRIC_NAMES.has(m) || !businessMetricName.safeParse(m).success) return [];
  const path = ['rollout', 'metric'];
  const declared = Object.keys(spec.business?.metrics ?? {});
  const def = spec.business?.metrics[m];
  if (!def) return [{ path, message: `unknown metric '${m}': neither accuracy, logLoss, auc nor declared in business.metrics${declared.length ? ` (declared: ${declared.join(', ')})` : ''}` }];
  let columns: string[];
  try {
    columns = compileExpression(def.expr).columns;
  } catch {
    // An expression that does not compile is reported by the business section.
    return [];
  }
  if (columns.length === 0) return [];
  return [{ path, message: `'${m}' reads the column(s) ${columns.join(', ')}, which live feedback does not carry; a rollout can compare a business metric of confusion counts only` }];
}
