import { decisionsAt, deLongTest, mcnemar, normalSf, pairedBootstrap, type BuiltinMetric } from '@refit/ml';
import { lowerIsBetter } from '@refit/spec';
import { isRegressionMetric, pairedRegressionBootstrap, type RegressionMetric } from './regression.js';

/** A gated metric compared between champion and candidate on the same rows. */
export type ComparedMetric = 'accuracy' | 'auc' | 'logLoss' | 'brier' | RegressionMetric;

/** libs/ml's name of a classifier's compared metric. */
const ML_METRIC: Record<Exclude<ComparedMetric, RegressionMetric>, BuiltinMetric> = { auc: 'rocAuc', accuracy: 'accuracy', logLoss: 'logLoss', brier: 'brier' };

/** What one champion comparison tests: superiority (`better`) or non-inferiority (`not-worse` within `margin`). */
export type ComparisonTest = { metric: ComparedMetric; test: 'better' | 'not-worse'; margin: number };

/**
 * The paired evidence of one comparison. Differences are candidate − champion, oriented so that
 * a positive value always means "the candidate is better" (log loss, brier, mae and rmse are negated).
 */
export type PairedEvidence = Omit<ComparisonTest, 'metric'> & {
  /** The compared metric: a built-in one, or a business metric's name (`business.metrics`). */
  metric: ComparedMetric | (string & {});
  n: number;
  candidate: number;
  champion: number;
  /** Oriented point difference. */
  gain: number;
  /** Oriented bootstrap percentile interval of the gain; null when there were too few rows. */
  interval: { lower: number; upper: number; confidence: number } | null;
  /** One-sided p-value of H0 "gain ≤ −margin" (better: margin 0); null when too few rows. */
  pValue: number | null;
  /** How the p-value was computed. */
  method: string;
};

/** Options of {@link pairedEvidence}. */
export type EvidenceOptions = {
  /** Fewer rows make the comparison impossible (pValue null). Default 30. */
  minSamples?: number;
  /** Bootstrap resamples. Default 1000. */
  resamples?: number;
  /** Confidence of the reported interval. Default 0.95. */
  confidence?: number;
  /** Bootstrap seed. Default 0. */
  seed?: number;
};

/** One-sided p-value of H0 "gain ≤ −margin" from a normal approximation with standard error `se`. */
export function zPValue(gain: number, margin: number, se: number): number {
  const shifted = gain + margin;
  if (se > 0) return normalSf(shifted / se);
  // No variation at all: the models agree on every resample, the data decide exactly.
  return shifted > 0 ? 0 : 1;
}

/** What a paired bootstrap of champion (A) and candidate (B) measured. */
type PairedDifference = { estimateA: number; estimateB: number; difference: number; lower: number; upper: number };

/** A comparison that could not be made (too few rows, a metric undefined on them): no numbers, and why. */
export function noEvidence(base: Pick<PairedEvidence, 'metric' | 'test' | 'margin' | 'n'>, method: string): PairedEvidence {
  return { ...base, candidate: Number.NaN, champion: Number.NaN, gain: Number.NaN, interval: null, pValue: null, method };
}

/**
 * Both estimates, the gain and its interval of a paired bootstrap, oriented so that a positive gain
 * means "the candidate is better" (differences of a lower-is-better metric are negated).
 */
export function orientedGain(boot: PairedDifference, lowerBetter: boolean, confidence: number): Pick<PairedEvidence, 'candidate' | 'champion' | 'gain' | 'interval'> {
  const sign = lowerBetter ? -1 : 1;
  const interval = sign === 1 ? { lower: boot.lower, upper: boot.upper, confidence } : { lower: -boot.upper, upper: -boot.lower, confidence };
  return { candidate: boot.estimateB, champion: boot.estimateA, gain: sign * boot.difference, interval };
}

/**
 * Tests one comparison on the same rows: DeLong's test for AUC, McNemar's (one-sided) for
 * accuracy superiority, otherwise a normal test with the paired-bootstrap standard error (for
 * mae, rmse and r2 a paired bootstrap of numeric targets). The percentile interval of the paired
 * bootstrap is reported for every metric.
 */
export function pairedEvidence(y: ArrayLike<number>, champion: ArrayLike<number>, candidate: ArrayLike<number>, t: ComparisonTest, opts: EvidenceOptions = {}): PairedEvidence {
  const n = y.length;
  const margin = t.test === 'better' ? 0 : t.margin;
  const base = { ...t, margin, n };
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const bothClasses = positives >= 2 && n - positives >= 2;
  if (n < (opts.minSamples ?? 30) || (t.metric === 'auc' && !bothClasses)) {
    return noEvidence(base, 'not enough data');
  }
  const confidence = opts.confidence ?? 0.95;
  const resampling = { resamples: opts.resamples ?? 1000, seed: opts.seed ?? 0, confidence };
  const boot = isRegressionMetric(t.metric)
    ? pairedRegressionBootstrap(y, champion, candidate, { ...resampling, metric: t.metric })
    : pairedBootstrap(y, champion, candidate, { ...resampling, metric: ML_METRIC[t.metric] });
  const common = { ...base, ...orientedGain(boot, lowerIsBetter(t.metric), confidence) };
  if (t.metric === 'auc') {
    const d = deLongTest(y, champion, candidate);
    return { ...common, pValue: zPValue(d.difference, margin, d.standardError), method: `DeLong (se ${d.standardError.toPrecision(3)})` };
  }
  if (t.metric === 'accuracy' && margin === 0) {
    const m = mcnemar(y, decisionsAt(champion, 0.5), decisionsAt(candidate, 0.5));
    const half = m.pValue / 2;
    const pValue = m.onlyBCorrect > m.onlyACorrect ? half : 1 - half;
    return { ...common, pValue, method: `McNemar (${m.onlyBCorrect} rows only the candidate gets right, ${m.onlyACorrect} only the champion)` };
  }
  return { ...common, pValue: zPValue(common.gain, margin, boot.standardError), method: `paired bootstrap (se ${boot.standardError.toPrecision(3)})` };
}
