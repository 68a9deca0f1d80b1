import { alwaysValidHalfWidth, normalMixtureBestRho, normalQuantile } from '@refit/ml';
import { businessBounds, businessEstimate, type BusinessMetric } from './rollout-business.js';
import { builtinBounds, builtinEstimate, type Evidence, type Labeled, type RolloutTest } from './rollout-bounds.js';
import type { Operational, RolloutConfig } from './rollout-store.js';

export type { BusinessMetric } from './rollout-business.js';
export type { Labeled } from './rollout-bounds.js';

/** One step's analysis: the outcome, one sentence and the numbers. */
export type StepAnalysis = {
  outcome: 'pass' | 'fail' | 'inconclusive';
  reason: string;
  metric: string;
  /** True when both models were judged on the same rows (shadow, the last canary step). */
  paired: boolean;
  /** Each side's metric (NaN, in JSON null, where it is undefined: no rows, AUC of one class). */
  candidate: number;
  champion: number;
  /** Labeled rows of the step on each side (paired: the same rows, so equal). */
  nCandidate: number;
  nChampion: number;
  /** Candidate minus champion, oriented so that higher is better. */
  gain: number;
  /** One-sided (1 − alpha) bounds of the gain; equal to `gain` while feedback is short. */
  lower: number;
  upper: number;
  /** The test behind the bounds (see {@link RolloutTest}). */
  test: RolloutTest;
  /**
   * One-sided p-value of "the candidate is worse than the champion" (McNemar for paired accuracy,
   * the two-proportion z-test for unpaired accuracy, Φ(gain / se) for AUC); absent otherwise.
   */
  pWorse?: number;
  /**
   * Mean |candidate − champion| probability on the same rows: the labeled pairs when paired; for
   * canary/A-B, every candidate row of the step (the champion scores them too), added by the
   * rollout controller.
   */
  divergence?: number;
  /** The candidate's operational numbers in the step, when the rollout has guardrails. */
  operational?: Operational;
};

/** The analysis settings of a rollout (the spec's `rollout:`; `business` when `metric` names a business metric). */
export type AnalysisSpec = { metric: string; margin: number; alpha: number; minLabeled: number; business?: BusinessMetric };

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);

/** How many labeled rows a step has, and needs, in words (paired rows are counted once: both models scored them). */
export function labeledCounts(a: Pick<StepAnalysis, 'paired' | 'nCandidate' | 'nChampion'>, minLabeled: number): string {
  return a.paired
    ? `${a.nCandidate} labeled rows scored by both models in this step, ${minLabeled} needed`
    : `${a.nCandidate} candidate and ${a.nChampion} champion labeled predictions in this step, ${minLabeled} needed on each side`;
}

function estimate(spec: AnalysisSpec, s: Labeled): number {
  return spec.business ? businessEstimate(spec.business, s) : builtinEstimate(spec.metric, s);
}

/** Per-row variance of the built-in metrics' estimates, for planning (a worst case, not the data's). */
const PLANNING_ROW_VARIANCE: Readonly<Record<string, number>> = { accuracy: 0.25, logLoss: 0.5, auc: 0.5 };

/**
 * The mixing scale τ of a step's always-valid bounds, fixed by the spec, never by the data (which
 * would void the guarantee): the bounds are made tightest where a step is expected to be decided,
 * at about 4 × `minLabeled` rows a side, given a worst-case per-row variance of the metric. A
 * business metric, whose scale is its own, uses its margin (else 1).
 */
export function mixingScale(spec: AnalysisSpec): number {
  const rowVariance = spec.business ? undefined : PLANNING_ROW_VARIANCE[spec.metric];
  if (rowVariance === undefined) return spec.margin > 0 ? spec.margin : 1;
  const n = 4 * Math.max(spec.minLabeled, 1);
  const information = 1 / (2 * (rowVariance / n));
  return 1 / Math.sqrt(normalMixtureBestRho(information, spec.alpha));
}

/**
 * The step's evidence with always-valid bounds. A step is analysed at every tick on a sample that
 * grows, so fixed-sample bounds looked at again and again would pass (or fail) a candidate by
 * chance sooner or later; each test's standard error (recovered from its fixed bounds: half their
 * width over z_α) is given the normal-mixture boundary instead (libs/ml `alwaysValidHalfWidth`),
 * which holds at every look.
 */
function evidence(spec: AnalysisSpec, candidate: Labeled, champion: Labeled, paired: boolean): Evidence {
  const b = spec.business ? businessBounds(spec.business, spec.alpha, candidate, champion, paired) : builtinBounds(spec.metric, spec.alpha, candidate, champion, paired);
  if ('undefinedBecause' in b) return b;
  const se = (b.upper - b.lower) / (2 * normalQuantile(1 - spec.alpha));
  const half = alwaysValidHalfWidth(Math.max(0, se), spec.alpha, mixingScale(spec));
  return { ...b, lower: b.gain - half, upper: b.gain + half };
}

// Higher is better for accuracy, AUC and a metric to maximize; lower for log loss and a cost.
function orientedGain(spec: AnalysisSpec, c: number, h: number): number {
  const lower = spec.business ? spec.business.goal === 'minimize' : spec.metric === 'logLoss';
  return lower ? h - c : c - h;
}

/**
 * Compares the candidate with the champion on the labeled predictions of one step: a one-sided
 * test at `alpha` of "the candidate is not worse than the champion by more than `margin`", with
 * always-valid bounds (the step is looked at every tick; see {@link evidence}). Paired
 * (the same rows, both models' scores): libs/ml's paired bootstrap with McNemar (accuracy, log
 * loss), DeLong (AUC) or a paired bootstrap of the business metric. Independent arms of the same
 * period: the two-proportion z-test, Welch, DeLong variances per arm, or a bootstrap per arm.
 * pass: the lower bound of the gain is above −margin; fail: the upper bound is below −margin;
 * anything else (or fewer than `minLabeled` rows on either side) is inconclusive.
 */
export function analyseStep(spec: AnalysisSpec, candidate: Labeled, champion: Labeled, paired: boolean): StepAnalysis {
  const nc = candidate.y.length;
  const nh = champion.y.length;
  const head = { metric: spec.metric, paired, nCandidate: nc, nChampion: nh };
  const divergence = paired && nc > 0 ? { divergence: mean(candidate.p.map((p, i) => Math.abs(p - champion.p[i]))) } : {};
  const none = (reason: string): StepAnalysis => {
    const c = estimate(spec, candidate);
    const h = estimate(spec, champion);
    const gain = orientedGain(spec, c, h);
    return { ...head, ...divergence, candidate: c, champion: h, gain, lower: gain, upper: gain, test: 'none', outcome: 'inconclusive', reason };
  };
  if (nc < spec.minLabeled || nh < spec.minLabeled) {
    return none(`too little feedback yet: ${labeledCounts(head, spec.minLabeled)}`);
  }
  const b = evidence(spec, candidate, champion, paired);
  if ('undefinedBecause' in b) return none(`inconclusive: ${spec.metric} cannot be compared on these ${nc} rows: ${b.undefinedBecause}`);
  const base = { ...head, ...divergence, ...b };
  const f = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);
  const p = b.pWorse === undefined ? '' : `, p(worse) ${b.pWorse.toPrecision(3)}`;
  const same = paired ? ' on the same rows' : '';
  const numbers = `${spec.metric} ${b.candidate.toFixed(4)} (n=${nc}) vs champion ${b.champion.toFixed(4)} (n=${nh})${same}, gain ${f(b.gain)}, always-valid ${Math.round((1 - spec.alpha) * 100)}% one-sided bounds [${f(b.lower)}, ${f(b.upper)}] (${b.test}${p}), margin ${spec.margin}`;
  if (b.lower > -spec.margin) return { ...base, outcome: 'pass', reason: `pass: ${numbers}: not worse than the champion beyond the margin` };
  if (b.upper < -spec.margin) return { ...base, outcome: 'fail', reason: `fail: ${numbers}: worse than the champion beyond the margin` };
  return { ...base, outcome: 'inconclusive', reason: `inconclusive: ${numbers}` };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * The first guardrail the candidate's operational numbers breach, as a sentence, or undefined
 * (also while the step has fewer than `minPredictions` candidate rows). Error rate is failed rows
 * over all the rows the candidate was asked to score; latency compares mean per-row scoring time
 * with the champion's in the same step; divergence is the mean |candidate − champion| probability.
 */
export function guardrailBreach(g: NonNullable<RolloutConfig['guardrails']>, o: Operational): string | undefined {
  const asked = o.predictions + o.errors;
  if (asked < g.minPredictions) return undefined;
  const errorRate = o.errors / asked;
  if (g.maxErrorRate !== undefined && errorRate > g.maxErrorRate) {
    return `guardrail: error rate ${pct(errorRate)} (${o.errors} of ${asked} rows failed to score) is above the limit ${pct(g.maxErrorRate)}`;
  }
  if (g.maxLatencyRatio !== undefined && o.latencyMs !== null && o.championLatencyMs !== null && o.championLatencyMs > 0) {
    const ratio = o.latencyMs / o.championLatencyMs;
    if (ratio > g.maxLatencyRatio) {
      return `guardrail: mean latency ${o.latencyMs.toFixed(3)} ms per row is ${ratio.toFixed(2)}× the champion's ${o.championLatencyMs.toFixed(3)} ms, above the limit ×${g.maxLatencyRatio}`;
    }
  }
  if (g.maxDivergence !== undefined && o.divergence !== null && o.divergence > g.maxDivergence) {
    return `guardrail: mean divergence from the champion ${o.divergence.toFixed(4)} on ${o.predictions} rows is above the limit ${g.maxDivergence}`;
  }
  return undefined;
}
