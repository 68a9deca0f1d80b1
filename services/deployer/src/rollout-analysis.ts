import { normalQuantile } from '@refit/ml';

/** The labeled predictions of one side of a comparison: true labels and probabilities. */
export type Labeled = { y: number[]; p: number[] };

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
  lower: number;
  upper: number;
  /** Mean |candidate − champion| probability on the same rows (shadow only). */
  divergence?: number;
};

/** The analysis settings of a rollout (the spec's `rollout:`). */
export type AnalysisSpec = { metric: 'accuracy' | 'logLoss'; margin: number; alpha: number; minLabeled: number };

const EPS = 1e-7;
// Per-row scores oriented so that higher is better: correct (1/0), or minus the log loss.
function rowScores(metric: AnalysisSpec['metric'], s: Labeled): number[] {
  return s.y.map((y, i) => {
    const p = s.p[i];
    if (metric === 'accuracy') return (p >= 0.5 ? 1 : 0) === y ? 1 : 0;
    const q = Math.min(1 - EPS, Math.max(EPS, p));
    return y === 1 ? Math.log(q) : Math.log(1 - q);
  });
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
const variance = (a: number[]) => {
  const m = mean(a);
  return a.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, a.length - 1);
};
const shown = (metric: string, v: number) => (metric === 'logLoss' ? -v : v);

/**
 * Compares the candidate with the champion on live labeled predictions: a one-sided test at
 * `alpha` of "the candidate is not worse than the champion by more than `margin`" (normal
 * approximation: paired differences on the same rows in shadow mode, Welch's two-sample standard
 * error otherwise). pass: the lower bound of the gain is above −margin; fail: the upper bound is
 * below −margin; anything else (or fewer than `minLabeled` rows on either side) is inconclusive.
 */
export function analyseStep(spec: AnalysisSpec, candidate: Labeled, champion: Labeled, paired: boolean): StepAnalysis {
  const sc = rowScores(spec.metric, candidate);
  const sh = rowScores(spec.metric, champion);
  const c = mean(sc);
  const h = mean(sh);
  const gain = c - h;
  const se = paired ? Math.sqrt(variance(sc.map((x, i) => x - sh[i])) / Math.max(1, sc.length)) : Math.sqrt(variance(sc) / Math.max(1, sc.length) + variance(sh) / Math.max(1, sh.length));
  const z = normalQuantile(1 - spec.alpha);
  const lower = gain - z * se;
  const upper = gain + z * se;
  const base = { metric: spec.metric, paired, candidate: shown(spec.metric, c), champion: shown(spec.metric, h), nCandidate: sc.length, nChampion: sh.length, gain, lower, upper };
  if (paired) Object.assign(base, { divergence: mean(candidate.p.map((p, i) => Math.abs(p - champion.p[i]))) });
  const f = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);
  const numbers = `${spec.metric} ${base.candidate.toFixed(4)} (n=${sc.length}) vs champion ${base.champion.toFixed(4)} (n=${sh.length}), gain ${f(gain)}, ${Math.round((1 - spec.alpha) * 100)}% one-sided bounds [${f(lower)}, ${f(upper)}], margin ${spec.margin}`;
  if (sc.length < spec.minLabeled || sh.length < spec.minLabeled) {
    return { ...base, outcome: 'inconclusive', reason: `too little feedback yet: ${sc.length} candidate and ${sh.length} champion labeled predictions, ${spec.minLabeled} needed on each side` };
  }
  if (lower > -spec.margin) return { ...base, outcome: 'pass', reason: `pass: ${numbers}: not worse than the champion beyond the margin` };
  if (upper < -spec.margin) return { ...base, outcome: 'fail', reason: `fail: ${numbers}: worse than the champion beyond the margin` };
  return { ...base, outcome: 'inconclusive', reason: `inconclusive: ${numbers}` };
}
