import { alwaysValidHalfWidth, normalSf, pairedBootstrap, proportionZTest } from '@refit/ml';
import { describe, expect, it } from 'vitest';
import { analyseStep, guardrailBreach, mixingScale } from './rollout-analysis.js';
import { bucketOf, candidateAnswers } from './routing.js';

const spec = { metric: 'accuracy' as const, margin: 0.02, alpha: 0.05, minLabeled: 50 };
// n rows of which `correct` are predicted right (label 1, probability 0.9 or 0.1).
const side = (n: number, correct: number) => ({ y: Array.from({ length: n }, () => 1), p: Array.from({ length: n }, (_, i) => (i < correct ? 0.9 : 0.1)) });

describe('rollout analysis', () => {
  it('fails a clearly worse candidate, passes a clearly better one, holds when unsure or short of feedback', () => {
    expect(analyseStep(spec, side(200, 116), side(1000, 730), false).outcome).toBe('fail');
    expect(analyseStep(spec, side(200, 146), side(1000, 580), false).outcome).toBe('pass');
    expect(analyseStep(spec, side(100, 70), side(100, 72), false).outcome).toBe('inconclusive');
    const short = analyseStep(spec, side(20, 20), side(1000, 100), false);
    expect(short.outcome).toBe('inconclusive');
    expect(short.reason).toContain('20 candidate');
  });

  it('puts the numbers in the sentence and measures divergence when paired', () => {
    const a = analyseStep({ ...spec, metric: 'logLoss' }, side(100, 100), side(100, 60), true);
    expect(a.outcome).toBe('pass');
    expect(a.candidate).toBeCloseTo(-Math.log(0.9), 6);
    expect(a.divergence).toBeCloseTo(0.32, 6);
    expect(a.reason).toMatch(/logLoss 0\.1054 \(n=100\) vs champion/);
  });
});

describe('rollout analysis uses libs/ml significance', () => {
  it('unpaired accuracy: the two-proportion z-test gives the p-value and the bounds', () => {
    const a = analyseStep(spec, side(400, 300), side(1000, 780), false);
    const correct = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
    const t = proportionZTest(correct(1000, 780), correct(400, 300), 1);
    expect(a.test).toBe('proportion-z');
    // Pooled z of 0.75 (n=400) vs 0.78 (n=1000), worked by hand.
    const pooled = 1080 / 1400;
    expect(t.statistic).toBeCloseTo(-0.03 / Math.sqrt(pooled * (1 - pooled) * (1 / 400 + 1 / 1000)), 10);
    expect(a.pWorse).toBeCloseTo(normalSf(-t.statistic), 12);
    // The bounds use the test's own standard error (gain / z), with the always-valid boundary.
    const se = (0.75 - 0.78) / t.statistic;
    expect(a.lower).toBeCloseTo(a.gain - alwaysValidHalfWidth(se, 0.05, mixingScale(spec)), 6);
    expect(a.lower).toBeLessThan(a.gain - 1.6448536 * se);
    expect(a.reason).toContain('proportion-z, p(worse) ');
  });

  it('paired rows: the bootstrap interval at 1 − 2·alpha is the one-sided bound, and pairing catches what two samples miss', () => {
    // Same 1,200 rows; the candidate flips 60 of the champion's right answers to wrong (−5 %).
    const y = Array.from({ length: 1200 }, () => 1);
    const champion = { y, p: y.map((_, i) => (i < 960 ? 0.9 : 0.1)) };
    const candidate = { y, p: y.map((_, i) => (i < 900 ? 0.9 : 0.1)) };
    const a = analyseStep(spec, candidate, champion, true);
    const b = pairedBootstrap(y, champion.p, candidate.p, { metric: 'accuracy', confidence: 0.9, resamples: 1000, seed: 0 });
    const se = (b.upper - b.lower) / (2 * 1.6448536269514722);
    expect(a).toMatchObject({ test: 'paired-bootstrap', outcome: 'fail' });
    expect(a.lower).toBeCloseTo(b.difference - alwaysValidHalfWidth(se, 0.05, mixingScale(spec)), 10);
    expect(a.pWorse).toBeLessThan(0.001);
    // The same numbers as independent samples are not enough to decide.
    expect(analyseStep(spec, candidate, champion, false).outcome).toBe('inconclusive');
  });

  it('paired log loss is oriented so that higher gain is better', () => {
    const a = analyseStep({ ...spec, metric: 'logLoss' }, side(100, 60), side(100, 100), true);
    expect(a.gain).toBeLessThan(0);
    expect(a.upper).toBeLessThan(-0.02);
    expect(a.outcome).toBe('fail');
    expect(a.champion).toBeCloseTo(-Math.log(0.9), 6);
  });
});

describe('routing', () => {
  it('buckets are stable and spread evenly', () => {
    expect(bucketOf('abc')).toBe(bucketOf('abc'));
    const counts = new Array(10).fill(0) as number[];
    for (let i = 0; i < 10_000; i++) counts[Math.floor(bucketOf(`id-${i}`) / 10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('A/B assignment depends on the entity only; canary on the prediction id; shadow never answers', () => {
    const ab = { strategy: 'ab' as const, split: 50, entityColumn: 'user' };
    for (let i = 0; i < 50; i++) expect(candidateAnswers(ab, `p-${i}`, { user: 'u7' })).toBe(candidateAnswers(ab, 'other', { user: 'u7' }));
    const canary = { strategy: 'canary' as const, weight: 10 };
    const share = Array.from({ length: 5000 }, (_, i) => candidateAnswers(canary, `p-${i}`, {})).filter(Boolean).length / 5000;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    expect(candidateAnswers({ strategy: 'shadow' }, 'x', {})).toBe(false);
  });
});

describe('guardrails', () => {
  const g = { maxErrorRate: 0.01, maxLatencyRatio: 2, maxDivergence: 0.1, minPredictions: 100 };
  const ok = { predictions: 500, errors: 0, latencyMs: 0.02, championLatencyMs: 0.02, divergence: 0.03 };

  it('holds within every limit and below minPredictions', () => {
    expect(guardrailBreach(g, ok)).toBeUndefined();
    expect(guardrailBreach(g, { ...ok, predictions: 50, errors: 49 })).toBeUndefined();
  });

  it('names the breached limit with the numbers', () => {
    expect(guardrailBreach(g, { ...ok, errors: 10 })).toBe('guardrail: error rate 1.96% (10 of 510 rows failed to score) is above the limit 1.00%');
    expect(guardrailBreach(g, { ...ok, latencyMs: 0.05 })).toBe("guardrail: mean latency 0.050 ms per row is 2.50× the champion's 0.020 ms, above the limit ×2");
    expect(guardrailBreach(g, { ...ok, divergence: 0.25 })).toBe('guardrail: mean divergence from the champion 0.2500 on 500 rows is above the limit 0.1');
    // Unmeasured numbers (shadow latency, no champion-scored rows) are not judged.
    expect(guardrailBreach(g, { ...ok, latencyMs: null, divergence: null })).toBeUndefined();
  });
});

describe('decision thresholds in the analysis', () => {
  const spec = { metric: 'accuracy' as const, margin: 0.02, alpha: 0.05, minLabeled: 50 };
  // Every true label is 1 and every score 0.4: right only for a model that decides at 0.3.
  const y = Array.from({ length: 300 }, () => 1);
  const p = y.map(() => 0.4);

  it('judges accuracy on each side’s own decisions, unpaired and paired', () => {
    const unpaired = analyseStep(spec, { y, p, threshold: 0.3 }, { y, p }, false);
    expect(unpaired).toMatchObject({ candidate: 1, champion: 0, outcome: 'pass' });
    const paired = analyseStep(spec, { y, p }, { y, p, threshold: 0.3 }, true);
    expect(paired).toMatchObject({ candidate: 0, champion: 1, outcome: 'fail' });
  });
});
