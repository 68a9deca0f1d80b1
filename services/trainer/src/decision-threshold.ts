import { bayesThreshold, minCostThreshold } from '@refit/ml';
import type { LabelledMatrix, TrainedModel } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';

/** The decision threshold stored with a model, and how it was set. */
export type DecisionThreshold = { threshold: number; how: 'default' | 'fixed' | 'min-cost' | 'bayes' };

/**
 * The decision threshold of a binary model (`business.threshold`): the spec's fixed value, or the
 * one that minimizes the total cost of `business.costs` on the validation split (scores of the
 * final model). Without a usable validation split (absent, or a single class, where the sweep would
 * just push the threshold to an extreme) it falls back to the Bayes threshold of the costs.
 * 0 means "not set": readers use 0.5.
 */
export function decisionThreshold(spec: PipelineSpec, model: TrainedModel, validation: LabelledMatrix | undefined): DecisionThreshold {
  const rule = spec.business?.threshold;
  if (!rule || spec.model.head === 'regression') return { threshold: 0, how: 'default' };
  if ('fixed' in rule) return { threshold: rule.fixed, how: 'fixed' };
  const costs = spec.business?.costs ?? { fp: 0, fn: 0, tp: 0, tn: 0 };
  let positives = 0;
  for (let i = 0; i < (validation?.n ?? 0); i++) positives += validation?.y[i] ?? 0;
  if (!validation || positives === 0 || positives === validation.n) return { threshold: bayesThreshold(costs), how: 'bayes' };
  const scores = model.predict(validation.X, validation.n);
  return { threshold: minCostThreshold(validation.y.subarray(0, validation.n), scores, costs).threshold, how: 'min-cost' };
}
