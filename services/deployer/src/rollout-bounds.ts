import { decisionsAt, deLongTest, mcnemar, normalCdf, normalQuantile, pairedBootstrap, proportionZTest, rocAuc, storedThreshold } from '@refit/ml';

/** The labeled predictions of one side of a comparison: true labels, probabilities and the threshold they were decided at (default 0.5). */
export type Labeled = { y: number[]; p: number[]; threshold?: number };

/**
 * The test behind a step's bounds: "paired-bootstrap" (same rows: accuracy, log loss, a business
 * metric), "delong" (same rows, AUC), "proportion-z" (independent arms, accuracy), "welch-z"
 * (independent arms, log loss), "delong-unpaired" (independent arms, AUC: each arm's DeLong
 * variance), "bootstrap" (independent arms, a business metric: each arm resampled on its own).
 */
export type RolloutTest = 'paired-bootstrap' | 'proportion-z' | 'welch-z' | 'delong' | 'delong-unpaired' | 'bootstrap' | 'none';

/** Each side's metric, the gain (candidate minus champion, higher is better) and its one-sided (1 − alpha) bounds. */
export type Bounds = { candidate: number; champion: number; gain: number; lower: number; upper: number; test: RolloutTest; pWorse?: number };

/** Bounds, or why the metric cannot be compared on these rows (AUC of a single class, a division by zero). */
export type Evidence = Bounds | { undefinedBecause: string };

/** The metrics every rollout can compare without a `business:` definition. */
export const BUILTIN_ROLLOUT_METRICS: ReadonlySet<string> = new Set(['accuracy', 'logLoss', 'auc']);

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
const positives = (s: Labeled) => s.y.reduce((n, y) => n + (y === 1 ? 1 : 0), 0);

/** One side's accuracy (at its threshold), log loss or AUC; NaN where undefined (no rows, AUC of one class). */
export function builtinEstimate(metric: string, s: Labeled): number {
  if (s.y.length === 0) return Number.NaN;
  if (metric === 'accuracy') return mean(correct(s));
  if (metric === 'logLoss') return mean(losses(s));
  const pos = positives(s);
  return pos > 0 && pos < s.y.length ? rocAuc(s.y, s.p) : Number.NaN;
}

/**
 * Paired rows (shadow, the last canary step): libs/ml's seeded paired bootstrap of candidate −
 * champion; its two-sided (1 − 2·alpha) percentile interval gives one-sided (1 − alpha) bounds.
 * McNemar's exact/χ² test on the discordant rows gives the p-value of "worse" for accuracy.
 */
function pairedBounds(metric: 'accuracy' | 'logLoss', alpha: number, candidate: Labeled, champion: Labeled): Bounds {
  const higher = metric === 'accuracy';
  // Accuracy is judged on each model's own decisions (0/1 scores, so libs/ml's 0.5 cut keeps them).
  const scores = (s: Labeled) => (higher ? decide(s) : s.p);
  const b = pairedBootstrap(candidate.y, scores(champion), scores(candidate), { metric, confidence: 1 - 2 * alpha, resamples: 1000, seed: 0 });
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
 * Independent arms (canary steps the champion still answers, A/B). Accuracy: libs/ml's
 * two-proportion z-test on correct/wrong; the bounds use the same pooled standard error, recovered
 * from its statistic, so they and the test's p-value agree. Log loss: Welch's standard error.
 */
function unpairedBounds(metric: 'accuracy' | 'logLoss', alpha: number, candidate: Labeled, champion: Labeled): Bounds {
  const z = normalQuantile(1 - alpha);
  if (metric === 'accuracy') {
    const cc = correct(candidate);
    const hc = correct(champion);
    const c = mean(cc);
    const h = mean(hc);
    const t = proportionZTest(hc, cc, 1);
    // z = gain / se; with no difference the pooled se is computed directly (same formula).
    const pooled = (c * cc.length + h * hc.length) / (cc.length + hc.length);
    const se = t.statistic !== 0 ? (c - h) / t.statistic : Math.sqrt(pooled * (1 - pooled) * (1 / cc.length + 1 / hc.length));
    return { candidate: c, champion: h, gain: c - h, lower: c - h - z * se, upper: c - h + z * se, test: 'proportion-z', pWorse: normalCdf(t.statistic) };
  }
  const lc = losses(candidate);
  const lh = losses(champion);
  const gain = mean(lh) - mean(lc);
  const se = Math.sqrt(variance(lc) / lc.length + variance(lh) / lh.length);
  return { candidate: mean(lc), champion: mean(lh), gain, lower: gain - z * se, upper: gain + z * se, test: 'welch-z' };
}

// One model's AUC and its DeLong standard error from its own structural components: libs/ml's
// DeLong test against a constant score, whose placements are all ½, so every covariance term with
// it vanishes and what is left is exactly Var(V10)/n₊ + Var(V01)/n₋ of this model alone.
function aucAlone(s: Labeled): { auc: number; se: number } {
  const d = deLongTest(s.y, new Float64Array(s.y.length).fill(0.5), s.p);
  return { auc: d.aucB, se: d.standardError };
}

/**
 * AUC: DeLong's paired test on the same rows (libs/ml `deLongTest`), or on independent arms the
 * difference of the two AUCs with the variance of each by DeLong's structural components. Normal
 * bounds at the one-sided level; p(worse) = Φ(gain / se).
 */
function aucBounds(alpha: number, candidate: Labeled, champion: Labeled, paired: boolean): Evidence {
  const [cp, hp] = [positives(candidate), positives(champion)];
  const [cn, hn] = [candidate.y.length - cp, champion.y.length - hp];
  if (Math.min(cp, cn, hp, hn) < 2) {
    return { undefinedBecause: `AUC needs at least 2 positive and 2 negative labels a side; the candidate has ${cp} and ${cn}, the champion ${hp} and ${hn}` };
  }
  let c: number;
  let h: number;
  let se: number;
  if (paired) {
    const d = deLongTest(candidate.y, champion.p, candidate.p);
    [c, h, se] = [d.aucB, d.aucA, d.standardError];
  } else {
    const [a, b] = [aucAlone(candidate), aucAlone(champion)];
    [c, h, se] = [a.auc, b.auc, Math.sqrt(a.se ** 2 + b.se ** 2)];
  }
  const gain = c - h;
  const z = normalQuantile(1 - alpha);
  const pWorse = se > 0 ? normalCdf(gain / se) : gain < 0 ? 0 : gain > 0 ? 1 : 0.5;
  return { candidate: c, champion: h, gain, lower: gain - z * se, upper: gain + z * se, test: paired ? 'delong' : 'delong-unpaired', pWorse };
}

/** The evidence on a built-in rollout metric (accuracy, logLoss or auc), paired or from independent arms. */
export function builtinBounds(metric: string, alpha: number, candidate: Labeled, champion: Labeled, paired: boolean): Evidence {
  if (metric === 'auc') return aucBounds(alpha, candidate, champion, paired);
  if (metric !== 'accuracy' && metric !== 'logLoss') return { undefinedBecause: `'${metric}' is not a built-in rollout metric (accuracy, logLoss, auc)` };
  return paired ? pairedBounds(metric, alpha, candidate, champion) : unpairedBounds(metric, alpha, candidate, champion);
}
