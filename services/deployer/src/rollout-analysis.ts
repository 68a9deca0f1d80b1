import { decisionsAt, mcnemar, normalCdf, normalQuantile, pairedBootstrap, proportionZTest, storedThreshold } from '@refit/ml';
import type { Operational, RolloutConfig } from './rollout-store.js';

/** The labeled predictions of one side of a comparison: true labels, probabilities and the threshold they were decided at (default 0.5). */
export type Labeled = { y: number[]; p: number[]; threshold?: number };

/** One step's analysis: the outcome, one sentence and the numbers. */
export type StepAnalysis = {
  outcome: 'pass' | 'fail' | 'inconclusive';
  reason: string;
  metric: string;
  paired: boolean;
  candidate: number;
  champion: number;
  nCandidate: number;
  nChampion: number;
  /** Candidate minus champion, oriented so that higher is better. */
  gain: number;
  /** One-sided (1 − alpha) bounds of the gain; equal to `gain` while feedback is short. */
  lower: number;
  upper: number;
  /**
   * The libs/ml test behind the bounds: "paired-bootstrap" (shadow), "proportion-z" (canary/A-B
   * accuracy) or "welch-z" (canary/A-B log loss, which libs/ml has no two-sample test for).
   */
  test: 'paired-bootstrap' | 'proportion-z' | 'welch-z' | 'none';
  /**
   * One-sided p-value of "the candidate is worse than the champion" (McNemar for paired accuracy,
   * the two-proportion z-test for unpaired accuracy); absent for log loss.
   */
  pWorse?: number;
  /**
   * Mean |candidate − champion| probability on the same rows: the labeled pairs in shadow mode;
   * for canary/A-B, every candidate row of the step (the champion scores them too), added by the
   * rollout controller.
   */
  divergence?: number;
  /** The candidate's operational numbers in the step, when the rollout has guardrails. */
  operational?: Operational;
};

/** The analysis settings of a rollout (the spec's `rollout:`). */
export type AnalysisSpec = { metric: 'accuracy' | 'logLoss'; margin: number; alpha: number; minLabeled: number };

type Bounds = Pick<StepAnalysis, 'candidate' | 'champion' | 'gain' | 'lower' | 'upper' | 'test' | 'pWorse'>;

const EPS = 1e-15;
const decide = (s: Labeled) => decisionsAt(s.p, storedThreshold(s.threshold));
const correct = (s: Labeled) => {
  const d = decide(s);
  return s.y.map((y, i) => (d[i] === y ? 1 : 0));
};
const losses = (s: Labeled) =>
  s.y.map((y, i) => {
    const q = Math.min(1 - EPS, Math.max(EPS, s.p[i]));
    return y === 1 ? -Math.log(q) : -Math.log1p(-q);
  });
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
const variance = (a: number[]) => {
  const m = mean(a);
  return a.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, a.length - 1);
};
// Mean metric per side, shown as the metric itself (accuracy, or the log loss).
const estimate = (metric: AnalysisSpec['metric'], s: Labeled) => mean(metric === 'accuracy' ? correct(s) : losses(s));

/**
 * Paired rows (shadow): libs/ml's seeded paired bootstrap of candidate − champion; its two-sided
 * (1 − 2·alpha) percentile interval gives one-sided (1 − alpha) bounds. McNemar's exact/χ² test
 * on the discordant rows gives the p-value of "worse" for accuracy.
 */
function pairedBounds(spec: AnalysisSpec, candidate: Labeled, champion: Labeled): Bounds {
  const higher = spec.metric === 'accuracy';
  // Accuracy is judged on each model's own decisions (0/1 scores, so libs/ml's 0.5 cut keeps them).
  const scores = (s: Labeled) => (higher ? decide(s) : s.p);
  const b = pairedBootstrap(candidate.y, scores(champion), scores(candidate), { metric: spec.metric, confidence: 1 - 2 * spec.alpha, resamples: 1000, seed: 0 });
  const out: Bounds = {
    candidate: b.estimateB,
    champion: b.estimateA,
    gain: higher ? b.difference : -b.difference,
    lower: higher ? b.lower : -b.upper,
    upper: higher ? b.upper : -b.lower,
    test: 'paired-bootstrap',
  };
  if (higher) {
    const m = mcnemar(candidate.y, decide(champion), decide(candidate));
    // McNemar is two-sided; halve it in the direction of the observed difference.
    out.pWorse = b.difference < 0 ? m.pValue / 2 : 1 - m.pValue / 2;
  }
  return out;
}

/**
 * Independent samples (canary, A/B). Accuracy: libs/ml's two-proportion z-test on correct/wrong;
 * the bounds use the same pooled standard error, recovered from its statistic, so they and the
 * test's p-value agree. Log loss: Welch's standard error (libs/ml has no two-sample mean test).
 */
function unpairedBounds(spec: AnalysisSpec, candidate: Labeled, champion: Labeled): Bounds {
  const z = normalQuantile(1 - spec.alpha);
  if (spec.metric === 'accuracy') {
    const cc = correct(candidate);
    const hc = correct(champion);
    const c = mean(cc);
    const h = mean(hc);
    const t = proportionZTest(hc, cc, 1);
    // z = gain / se; with no difference the pooled se is computed directly (same formula).
    const pooled = (mean(cc) * cc.length + mean(hc) * hc.length) / (cc.length + hc.length);
    const se = t.statistic !== 0 ? (c - h) / t.statistic : Math.sqrt(pooled * (1 - pooled) * (1 / cc.length + 1 / hc.length));
    return { candidate: c, champion: h, gain: c - h, lower: c - h - z * se, upper: c - h + z * se, test: 'proportion-z', pWorse: normalCdf(t.statistic) };
  }
  const lc = losses(candidate);
  const lh = losses(champion);
  const gain = mean(lh) - mean(lc);
  const se = Math.sqrt(variance(lc) / lc.length + variance(lh) / lh.length);
  return { candidate: mean(lc), champion: mean(lh), gain, lower: gain - z * se, upper: gain + z * se, test: 'welch-z' };
}

/**
 * Compares the candidate with the champion on live labeled predictions: a one-sided test at
 * `alpha` of "the candidate is not worse than the champion by more than `margin`", with libs/ml's
 * paired bootstrap (and McNemar) on shadow rows and its two-proportion z-test on canary/A-B rows.
 * pass: the lower bound of the gain is above −margin; fail: the upper bound is below −margin;
 * anything else (or fewer than `minLabeled` rows on either side) is inconclusive.
 */
export function analyseStep(spec: AnalysisSpec, candidate: Labeled, champion: Labeled, paired: boolean): StepAnalysis {
  const nc = candidate.y.length;
  const nh = champion.y.length;
  const head = { metric: spec.metric, paired, nCandidate: nc, nChampion: nh };
  const divergence = paired && nc > 0 ? { divergence: mean(candidate.p.map((p, i) => Math.abs(p - champion.p[i]))) } : {};
  if (nc < spec.minLabeled || nh < spec.minLabeled) {
    const c = nc > 0 ? estimate(spec.metric, candidate) : 0;
    const h = nh > 0 ? estimate(spec.metric, champion) : 0;
    const gain = spec.metric === 'accuracy' ? c - h : h - c;
    return {
      ...head,
      ...divergence,
      candidate: c,
      champion: h,
      gain,
      lower: gain,
      upper: gain,
      test: 'none',
      outcome: 'inconclusive',
      reason: `too little feedback yet: ${nc} candidate and ${nh} champion labeled predictions, ${spec.minLabeled} needed on each side`,
    };
  }
  const b = paired ? pairedBounds(spec, candidate, champion) : unpairedBounds(spec, candidate, champion);
  const base = { ...head, ...divergence, ...b };
  const f = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);
  const p = b.pWorse === undefined ? '' : `, p(worse) ${b.pWorse.toPrecision(3)}`;
  const numbers = `${spec.metric} ${b.candidate.toFixed(4)} (n=${nc}) vs champion ${b.champion.toFixed(4)} (n=${nh}), gain ${f(b.gain)}, ${Math.round((1 - spec.alpha) * 100)}% one-sided bounds [${f(b.lower)}, ${f(b.upper)}] (${b.test}${p}), margin ${spec.margin}`;
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
