import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { binomialCdf, compareModels, createRng, deLongTest, mcnemar, mcnemarFromCounts, pairedBootstrap, rocAuc } from './index.js';

interface Ref {
  mcnemar: Array<{ b: number; c: number; exactP: number; chi2: number; chi2P: number }>;
  delong: Array<{ yTrue: number[]; a: number[]; b: number[]; aucA: number; aucB: number; se: number; z: number; p: number }>;
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as Ref;
const near = (a: number, b: number, rel = 1e-10, abs = 1e-14): void => {
  expect(Number.isFinite(a)).toBe(true);
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
};

function synthetic(n: number, seed: number, gainB: number): { y: Float64Array; a: Float64Array; b: Float64Array } {
  const rng = createRng(seed);
  const y = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng() < 0.4 ? 1 : 0;
    const shared = rng();
    a[i] = 0.5 * shared + 0.5 * rng() + 0.3 * y[i];
    b[i] = 0.5 * shared + 0.5 * rng() + (0.3 + gainB) * y[i];
  }
  return { y, a, b };
}

describe('mcnemar', () => {
  it('matches scipy binomtest (exact) and chi2.sf (corrected) on discordant counts', () => {
    for (const c of ref.mcnemar) {
      near(mcnemarFromCounts(c.b, c.c, { exactBelow: 1e9 }).pValue, c.exactP, 1e-12);
      if (c.b + c.c > 0) {
        const r = mcnemarFromCounts(c.b, c.c, { exactBelow: 0 });
        near(r.statistic, c.chi2, 1e-14);
        near(r.pValue, c.chi2P, 1e-11);
      }
    }
  });
  it('picks exact below 25 discordant pairs, chi-square from 25', () => {
    expect(mcnemarFromCounts(10, 14).method).toBe('exact');
    expect(mcnemarFromCounts(10, 15).method).toBe('chi-square');
    expect(mcnemarFromCounts(0, 0)).toMatchObject({ pValue: 1, method: 'exact' });
  });
  it('counts discordant pairs from predictions', () => {
    const r = mcnemar([1, 1, 0, 0, 1], [1, 0, 0, 1, 1], [0, 1, 0, 0, 1]);
    expect([r.onlyACorrect, r.onlyBCorrect]).toEqual([1, 2]);
    // Exact two-sided binomial: 2 * P(X <= 1 | n=3, 1/2) = 2 * 4/8 = 1.
    expect(r.pValue).toBe(1);
    expect(() => mcnemar([1], [2], [1])).toThrow('mcnemar: predA[0] is 2, expected 0 or 1');
  });
  it('binomial CDF against a hand computation', () => {
    // P(X <= 2 | n = 10, p = 0.5) = (1 + 10 + 45) / 1024
    near(binomialCdf(2, 10, 0.5), 56 / 1024, 1e-14);
    near(binomialCdf(7, 10, 0.5), 1 - 56 / 1024, 1e-14);
  });
});

describe('deLongTest', () => {
  ref.delong.forEach((c, i) => {
    it(`matches the definitional O(mn) DeLong (1988) computation, case ${i}`, () => {
      const r = deLongTest(c.yTrue, c.a, c.b);
      near(r.aucA, c.aucA, 1e-13);
      near(r.aucB, c.aucB, 1e-13);
      near(r.standardError, c.se, 1e-10);
      near(r.z, c.z, 1e-9);
      near(r.pValue, c.p, 1e-9);
    });
  });
  it('identical models: difference 0 and p 1', () => {
    const r = deLongTest([0, 1, 0, 1, 1], [0.1, 0.9, 0.4, 0.3, 0.8], [0.1, 0.9, 0.4, 0.3, 0.8]);
    expect(r).toMatchObject({ difference: 0, pValue: 1, z: 0 });
  });
  it('needs two rows per class', () => {
    expect(() => deLongTest([0, 1, 1], [1, 2, 3], [1, 2, 3])).toThrow(/at least 2 positives and 2 negatives/);
  });
});

describe('pairedBootstrap', () => {
  const { y, a, b } = synthetic(2000, 11, 0.05);
  it('is reproducible for a seed and its point estimate is the full-data AUC difference', () => {
    const r1 = pairedBootstrap(y, a, b, { resamples: 300, seed: 5 });
    const r2 = pairedBootstrap(y, a, b, { resamples: 300, seed: 5 });
    expect(r1).toEqual(r2);
    near(r1.difference, rocAuc(y, b) - rocAuc(y, a), 1e-12);
    expect(r1.lower).toBeLessThan(r1.difference);
    expect(r1.upper).toBeGreaterThan(r1.difference);
    expect(pairedBootstrap(y, a, b, { resamples: 300, seed: 6 }).lower).not.toBe(r1.lower);
  });
  it('bootstrap SE of an AUC difference agrees with DeLong SE (within 15%)', () => {
    const boot = pairedBootstrap(y, a, b, { resamples: 1000, seed: 1 });
    const dl = deLongTest(y, a, b);
    expect(Math.abs(boot.standardError / dl.standardError - 1)).toBeLessThan(0.15);
  });
  it('weighted fast paths equal a custom metric on materialised resamples', () => {
    const small = synthetic(150, 3, 0.02);
    const custom = (yy: Float64Array, pp: Float64Array): number | null => {
      let pos = 0;
      for (const v of yy) pos += v;
      return pos === 0 || pos === yy.length ? null : rocAuc(yy, pp);
    };
    const fast = pairedBootstrap(small.y, small.a, small.b, { resamples: 100, seed: 9 });
    const slow = pairedBootstrap(small.y, small.a, small.b, { resamples: 100, seed: 9, metric: custom });
    near(fast.lower, slow.lower, 1e-12);
    near(fast.upper, slow.upper, 1e-12);
    const probs = (x: Float64Array): Float64Array => x.map((v) => Math.min(1, Math.max(0, v / 1.6)));
    for (const metric of ['logLoss', 'brier', 'accuracy'] as const) {
      const r = pairedBootstrap(small.y, probs(small.a), probs(small.b), { resamples: 50, seed: 2, metric });
      expect(r.validResamples).toBe(50);
      expect(r.lower).toBeLessThanOrEqual(r.upper);
    }
  });
  it('errors clearly', () => {
    expect(() => pairedBootstrap([1, 1], [0.1, 0.2], [0.3, 0.4])).toThrow(/undefined on the full data/);
    expect(() => pairedBootstrap([0, 1], [0.1, NaN], [0.3, 0.4])).toThrow('pairedBootstrap: predA[1] is NaN');
    expect(() => pairedBootstrap([0, 1], [0.1, 0.2], [0.3, 0.4], { confidence: 1 })).toThrow(/confidence/);
  });
});

describe('compareModels', () => {
  it('better when the challenger is clearly stronger', () => {
    const { y, a, b } = synthetic(3000, 21, 0.3);
    const r = compareModels(y, a, b, { resamples: 300 });
    expect(r.verdict).toBe('better');
    expect(r.deLong?.pValue).toBeLessThan(0.01);
    expect(r.reason).toMatch(/lies above 0/);
  });
  it('worse when the challenger is clearly weaker', () => {
    const { y, a, b } = synthetic(3000, 22, -0.25);
    expect(compareModels(y, a, b, { resamples: 300 }).verdict).toBe('worse');
  });
  it('not worse within margin for the same model with noise-free equality', () => {
    const { y, a } = synthetic(3000, 23, 0);
    expect(compareModels(y, a, a, { resamples: 200 }).verdict).toBe('not-worse-within-margin');
  });
  it('inconclusive on tiny or noisy data', () => {
    const { y, a, b } = synthetic(50, 24, 0);
    expect(compareModels(y, a, b).verdict).toBe('inconclusive');
    expect(compareModels(y, a, b).reason).toMatch(/not enough data/);
    const noisy = synthetic(300, 25, 0);
    expect(compareModels(noisy.y, noisy.a, noisy.b, { resamples: 300, margin: 0 }).verdict).toBe('inconclusive');
  });
  it('handles lower-is-better metrics and attaches McNemar for accuracy', () => {
    const { y, a, b } = synthetic(2000, 26, 0.3);
    const p = (x: Float64Array): Float64Array => x.map((v) => Math.min(1, Math.max(0, v / 1.6)));
    const acc = compareModels(y, p(a), p(b), { metric: 'accuracy', resamples: 200 });
    expect(acc.mcnemar).not.toBeNull();
    const ll = compareModels(y, p(b), p(a), { metric: 'brier', resamples: 200 });
    expect(ll.higherIsBetter).toBe(false);
    expect(ll.verdict).toBe('worse');
  });
});
