// Cost-sensitive decisions: the total cost of a confusion matrix under a cost matrix, the cost at
// every distinct decision threshold, and the threshold that minimizes it.
import type { Confusion } from './classification.js';
import { MlRangeError } from './errors.js';
import { assertBinaryLabels, assertFinite, assertSameLength } from './validate.js';

/** The cost of each outcome of one decision (negative = a gain). */
export interface CostMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Result of {@link costCurve}: the total cost at each candidate threshold, in increasing order. */
export interface CostCurve {
  /** Candidate thresholds: halfway between consecutive distinct scores, plus one below and one above all. */
  thresholds: Float64Array;
  /** Total cost when a row is positive iff its score >= the threshold. */
  costs: Float64Array;
}

/** Result of {@link minCostThreshold}. */
export interface MinCost {
  threshold: number;
  /** Total cost at the threshold. */
  cost: number;
  /** Cost per row (total / n). */
  costPerRow: number;
  confusion: Confusion;
}

function assertCosts(costs: CostMatrix, fn: string): void {
  for (const k of ['tp', 'fp', 'tn', 'fn'] as const) {
    if (!Number.isFinite(costs[k])) throw new MlRangeError(`${fn}: costs.${k} is ${String(costs[k])}, expected a finite number`);
  }
}

/** The decision threshold of a model that stored none. */
export const DEFAULT_THRESHOLD = 0.5;

/**
 * The threshold a model decides at: the one stored with it when usable (strictly between 0 and 1),
 * else {@link DEFAULT_THRESHOLD} (0 or unset means "none was chosen").
 */
export function storedThreshold(stored: number | null | undefined): number {
  return typeof stored === 'number' && stored > 0 && stored < 1 ? stored : DEFAULT_THRESHOLD;
}

/** The 0/1 decisions of scores at a threshold: 1 when score >= threshold. */
export function decisionsAt(scores: ArrayLike<number>, threshold: number): Uint8Array {
  return Uint8Array.from({ length: scores.length }, (_, i) => (scores[i] >= threshold ? 1 : 0));
}

/** Total cost of a confusion matrix: tp·costs.tp + fp·costs.fp + tn·costs.tn + fn·costs.fn. */
export function totalCost(c: Confusion, costs: CostMatrix): number {
  return c.tp * costs.tp + c.fp * costs.fp + c.tn * costs.tn + c.fn * costs.fn;
}

/**
 * The threshold that minimizes the expected cost when scores are calibrated probabilities:
 * predict positive when p·(costs.fn − costs.tp) ≥ (1 − p)·(costs.fp − costs.tn), i.e.
 * p ≥ (fp − tn) / ((fp − tn) + (fn − tp)) (Elkan 2001). 0.5 when the costs do not favour either
 * decision consistently (a zero or negative regret on one side).
 */
export function bayesThreshold(costs: CostMatrix): number {
  assertCosts(costs, 'bayesThreshold');
  const negRegret = costs.fp - costs.tn;
  const posRegret = costs.fn - costs.tp;
  return negRegret > 0 && posRegret > 0 ? negRegret / (negRegret + posRegret) : 0.5;
}

/**
 * The total cost at every distinct decision threshold, in one sweep over the sorted scores:
 * O(n log n). A row is positive when its score >= the threshold.
 * @param yTrue - 0/1 labels; scores - finite scores (probabilities); costs - the cost matrix.
 */
export function costCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>, costs: CostMatrix): CostCurve {
  const fn = 'costCurve';
  assertBinaryLabels(yTrue, fn, 'yTrue');
  assertFinite(scores, fn, 'scores');
  assertSameLength(yTrue, scores, fn, 'yTrue', 'scores');
  assertCosts(costs, fn);
  const n = yTrue.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += yTrue[i];
  // Start with every row positive (threshold below all scores), then move each score group across.
  let cost = pos * costs.tp + (n - pos) * costs.fp;
  const thresholds: number[] = [scores[order[0]] - Math.max(0.5 * Math.abs(scores[order[0]]), 1e-6)];
  const totals: number[] = [cost];
  for (let k = 0; k < n; ) {
    const s = scores[order[k]];
    while (k < n && scores[order[k]] === s) {
      cost += yTrue[order[k]] === 1 ? costs.fn - costs.tp : costs.tn - costs.fp;
      k++;
    }
    const next = k < n ? scores[order[k]] : s + Math.max(0.5 * Math.abs(1 - s), 1e-6);
    thresholds.push(k < n ? (s + next) / 2 : next);
    totals.push(cost);
  }
  return { thresholds: Float64Array.from(thresholds), costs: Float64Array.from(totals) };
}

/**
 * The decision threshold with the lowest total cost on the given rows (e.g. the validation
 * split). Among equal costs, the threshold closest to {@link bayesThreshold} wins, so a flat
 * stretch of the curve does not push the threshold to an extreme.
 */
export function minCostThreshold(yTrue: ArrayLike<number>, scores: ArrayLike<number>, costs: CostMatrix): MinCost {
  const curve = costCurve(yTrue, scores, costs);
  const prior = bayesThreshold(costs);
  let best = 0;
  for (let j = 1; j < curve.costs.length; j++) {
    const d = curve.costs[j] - curve.costs[best];
    // Costs are sums of the same few numbers: compare with a relative tolerance, not exactly.
    const tie = Math.abs(d) <= 1e-9 * Math.max(1, Math.abs(curve.costs[best]));
    if ((tie && Math.abs(curve.thresholds[j] - prior) < Math.abs(curve.thresholds[best] - prior)) || (!tie && d < 0)) best = j;
  }
  const threshold = curve.thresholds[best];
  const confusion: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const positive = scores[i] >= threshold;
    if (yTrue[i] === 1) confusion[positive ? 'tp' : 'fn']++;
    else confusion[positive ? 'fp' : 'tn']++;
  }
  return { threshold, cost: curve.costs[best], costPerRow: curve.costs[best] / yTrue.length, confusion };
}
