// Champion-vs-challenger decision built on the paired bootstrap, with the classical test for
// the metric attached as supporting evidence.
import { pairedBootstrap } from './bootstrap.js';
import type { BuiltinMetric, PairedBootstrapResult } from './bootstrap.js';
import { deLongTest } from './delong.js';
import type { DeLongResult } from './delong.js';
import { mcnemar } from './mcnemar.js';
import type { McNemarResult } from './mcnemar.js';
import { assertInt, assertOption } from './validate.js';

/** Options of {@link compareModels}. */
export interface CompareModelsOptions {
  /** Metric; default "rocAuc". logLoss and brier are lower-is-better, handled automatically. */
  metric?: BuiltinMetric;
  /**
   * Non-inferiority margin in metric units: the challenger is "not worse within margin" when
   * the whole interval of (challenger - champion), oriented so that higher is better, lies above
   * -margin. Default 0.005.
   */
  margin?: number;
  /** Confidence level of the bootstrap interval; default 0.95. */
  confidence?: number;
  /** Bootstrap resamples; default 1000. */
  resamples?: number;
  /** Bootstrap seed; default 0. */
  seed?: number;
  /** Threshold for accuracy / McNemar predictions; default 0.5. */
  threshold?: number;
  /** Below this many rows the verdict is "inconclusive" with reason "not enough data"; default 100. */
  minSamples?: number;
}

/** Verdict of {@link compareModels}. */
export type ModelVerdict = 'better' | 'not-worse-within-margin' | 'worse' | 'inconclusive';

/** Result of {@link compareModels}. */
export interface ModelComparison {
  verdict: ModelVerdict;
  /** Why, in one sentence with the numbers. */
  reason: string;
  metric: BuiltinMetric;
  higherIsBetter: boolean;
  margin: number;
  n: number;
  /** Bootstrap of challenger - champion (raw metric units, not oriented); null if not enough data. */
  bootstrap: PairedBootstrapResult | null;
  /** DeLong's test for rocAuc; McNemar's for accuracy; null otherwise or if not computable. */
  deLong: DeLongResult | null;
  mcnemar: McNemarResult | null;
}

/**
 * Decides whether a challenger (B) beats a champion (A) on the same rows. With the difference
 * oriented so that higher is better and its bootstrap interval [lo, hi]:
 * "better" when lo > 0; else "not-worse-within-margin" when lo > -margin; else "worse" when
 * hi < 0; else "inconclusive". Fewer than `minSamples` rows also give "inconclusive".
 * @param yTrue - 0/1 labels; champion, challenger - scores/probabilities of the two models.
 */
export function compareModels(
  yTrue: ArrayLike<number>,
  champion: ArrayLike<number>,
  challenger: ArrayLike<number>,
  opts: CompareModelsOptions = {},
): ModelComparison {
  const metric = opts.metric ?? 'rocAuc';
  const margin = opts.margin ?? 0.005;
  const minSamples = opts.minSamples ?? 100;
  const threshold = opts.threshold ?? 0.5;
  assertOption(margin, (m) => m >= 0 && Number.isFinite(m), 'compareModels', 'margin', 'a finite number >= 0');
  assertInt(minSamples, 1, 'compareModels', 'minSamples');
  const higherIsBetter = metric === 'rocAuc' || metric === 'accuracy';
  const n = yTrue.length;
  const base = { metric, higherIsBetter, margin, n };
  if (n < minSamples) {
    return { ...base, verdict: 'inconclusive', reason: `not enough data: ${n} rows < minSamples ${minSamples}`, bootstrap: null, deLong: null, mcnemar: null };
  }
  const boot = pairedBootstrap(yTrue, champion, challenger, {
    metric,
    resamples: opts.resamples,
    seed: opts.seed,
    confidence: opts.confidence,
    threshold,
  });
  let deLong: DeLongResult | null = null;
  let mc: McNemarResult | null = null;
  if (metric === 'rocAuc') {
    try {
      deLong = deLongTest(yTrue, champion, challenger);
    } catch {
      // Fewer than 2 rows of a class: the bootstrap verdict stands alone.
      deLong = null;
    }
  }
  if (metric === 'accuracy') {
    const bin = (p: ArrayLike<number>): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (p[i] >= threshold ? 1 : 0));
    mc = mcnemar(yTrue, bin(champion), bin(challenger));
  }
  const sign = higherIsBetter ? 1 : -1;
  const lo = sign === 1 ? boot.lower : -boot.upper;
  const hi = sign === 1 ? boot.upper : -boot.lower;
  const pct = `${Math.round(boot.confidence * 100)}%`;
  const interval = `improvement ${fmt(sign * boot.difference)}, ${pct} CI [${fmt(lo)}, ${fmt(hi)}]`;
  let verdict: ModelVerdict;
  let reason: string;
  if (lo > 0) {
    verdict = 'better';
    reason = `${metric} ${interval} lies above 0`;
  } else if (lo > -margin) {
    verdict = 'not-worse-within-margin';
    reason = `${metric} ${interval} lies above -margin ${fmt(-margin)}`;
  } else if (hi < 0) {
    verdict = 'worse';
    reason = `${metric} ${interval} lies below 0`;
  } else {
    verdict = 'inconclusive';
    reason = `${metric} ${interval} straddles 0 and reaches below -margin ${fmt(-margin)}`;
  }
  return { ...base, verdict, reason, bootstrap: boot, deLong, mcnemar: mc };
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
