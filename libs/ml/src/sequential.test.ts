import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  alwaysValidHalfWidth,
  bernoulliStats,
  binaryMetrics,
  binaryRowSums,
  createRng,
  createSequentialState,
  logNormalCdf,
  meanStats,
  meanStatsFromSums,
  mergeMeanStats,
  MlRangeError,
  msprt,
  normalMixtureBestRho,
  normalMixtureBound,
  normalMixtureLogE,
  oneSampleSequential,
  sequentialLook,
  twoSampleSequential,
  type SequentialState,
} from './index.js';

type Side = { twoSided: number; oneSided: number };
interface Ref {
  published: {
    vOpt: number;
    alphaOpt: number;
    twoSided: { bestRho: number; logMixture: { s: number; v: number; value: number }; bound: { v: number; alpha: number; value: number } };
    oneSided: { logMixture: { s: number; v: number; value: number }; bound: { v: number; alpha: number; value: number } };
  };
  normalMixture: {
    bestRho: Array<{ vOpt: number; alpha: number } & Side>;
    logMixture: Array<{ s: number; v: number; rho: number } & Side>;
    bound: Array<{ v: number; rho: number; alpha: number } & Side>;
  };
  msprt: {
    cases: Array<{ n: number; estimate: number; theta0: number; variance: number; tau: number; lambda: number; logLambda: number }>;
    sequence: { theta0: number; variance: number; tau: number; looks: Array<{ n: number; estimate: number; lambda: number; pValue: number }> };
  };
  sequential: Array<{
    name: string;
    higherIsBetter: boolean;
    margin: number;
    alpha: number;
    tau: number;
    looks: Array<{ candidate: number[]; reference: number[] | number; worsening: number; information: number; logE: number; pValue: number; lower: number; upper: number }>;
  }>;
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/sequential-reference.json', import.meta.url), 'utf8')) as Ref;
const near = (a: number, b: number, rel = 1e-10, abs = 1e-12): void => {
  expect(Number.isFinite(a)).toBe(true);
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
};
/** MeanStats from (n, mean, sample variance). */
const stats = ([n, mean, variance]: number[]) => ({ n, mean, m2: variance * (n - 1) });

describe('normal mixtures (Howard, Ramdas, McAuliffe & Sekhon 2021)', () => {
  it('match the published values of confseq’s unit tests (R reference implementation)', () => {
    const p = ref.published;
    const rho2 = normalMixtureBestRho(p.vOpt, p.alphaOpt, { oneSided: false });
    const rho1 = normalMixtureBestRho(p.vOpt, p.alphaOpt, { oneSided: true });
    // confseq asserts these to 1e-5.
    expect(rho2).toBeCloseTo(p.twoSided.bestRho, 5);
    expect(normalMixtureLogE(p.twoSided.logMixture.s, p.twoSided.logMixture.v, rho2, { oneSided: false })).toBeCloseTo(p.twoSided.logMixture.value, 5);
    expect(normalMixtureBound(p.twoSided.bound.v, p.twoSided.bound.alpha, rho2, { oneSided: false })).toBeCloseTo(p.twoSided.bound.value, 5);
    expect(normalMixtureLogE(p.oneSided.logMixture.s, p.oneSided.logMixture.v, rho1)).toBeCloseTo(p.oneSided.logMixture.value, 5);
    expect(normalMixtureBound(p.oneSided.bound.v, p.oneSided.bound.alpha, rho1)).toBeCloseTo(p.oneSided.bound.value, 5);
  });

  it('match the formulas on a grid: best rho, log mixtures (to the far tail) and boundaries', () => {
    for (const c of ref.normalMixture.bestRho) {
      near(normalMixtureBestRho(c.vOpt, c.alpha, { oneSided: false }), c.twoSided, 1e-14);
      near(normalMixtureBestRho(c.vOpt, c.alpha, { oneSided: true }), c.oneSided, 1e-14);
    }
    for (const c of ref.normalMixture.logMixture) {
      near(normalMixtureLogE(c.s, c.v, c.rho, { oneSided: false }), c.twoSided, 1e-13, 1e-13);
      // Python's log(erfc) loses relative accuracy far in the tail; so does ours, a little differently.
      near(normalMixtureLogE(c.s, c.v, c.rho, { oneSided: true }), c.oneSided, 1e-11, 1e-11);
    }
    for (const c of ref.normalMixture.bound) {
      near(normalMixtureBound(c.v, c.alpha, c.rho, { oneSided: false }), c.twoSided, 1e-13);
      near(normalMixtureBound(c.v, c.alpha, c.rho, { oneSided: true }), c.oneSided, 1e-11);
    }
  });

  it('the one-sided boundary is where the one-sided mixture reaches 1/α, and lies above the two-sided one at 2α', () => {
    for (const [v, rho, alpha] of [
      [0, 3, 0.05],
      [10, 400, 0.05],
      [2500, 400, 0.01],
      [1e7, 1, 0.2],
    ]) {
      const u = normalMixtureBound(v, alpha, rho);
      near(normalMixtureLogE(u, v, rho), Math.log(1 / alpha), 1e-11, 1e-11);
      expect(u).toBeGreaterThan(normalMixtureBound(v, 2 * alpha, rho, { oneSided: false }));
    }
  });

  it('log Φ is continuous across its switch to the asymptotic series', () => {
    near(logNormalCdf(-30 + 1e-9), logNormalCdf(-30 - 1e-9), 1e-9);
    near(logNormalCdf(-40), -804.6084420137538, 1e-13); // Mills-ratio continued fraction in 50-digit decimals
    near(logNormalCdf(0), Math.log(0.5), 1e-15);
  });

  it('refuses bad parameters, naming them', () => {
    expect(() => normalMixtureBestRho(0, 0.05)).toThrow(/normalMixtureBestRho: option vOpt is 0/);
    expect(() => normalMixtureBestRho(100, 0.5)).toThrow(MlRangeError);
    expect(() => normalMixtureLogE(1, -1, 1)).toThrow(/option v is -1/);
    expect(() => normalMixtureBound(1, 0.05, 0)).toThrow(/option rho is 0/);
  });
});

describe('mSPRT (Johari, Pekelis & Walsh 2022)', () => {
  it('is the two-sided normal mixture: Λₙ in the paper’s parameterization on a grid', () => {
    for (const c of ref.msprt.cases) {
      const r = msprt({ n: c.n, estimate: c.estimate, theta0: c.theta0, variance: c.variance, tau: c.tau });
      near(r.logLikelihoodRatio, c.logLambda, 1e-12, 1e-12);
      near(r.pValue, Math.min(1, 1 / c.lambda), 1e-11, 1e-15);
    }
  });

  it('the always-valid p-value is the running minimum of 1/Λ over the looks', () => {
    const s = ref.msprt.sequence;
    let p = 1;
    for (const look of s.looks) {
      p = Math.min(p, msprt({ n: look.n, estimate: look.estimate, theta0: s.theta0, variance: s.variance, tau: s.tau }).pValue);
      near(p, look.pValue, 1e-11);
    }
  });
});

describe('mean statistics', () => {
  it('pool batch by batch to the statistics of all rows (Welford, Chan et al.)', () => {
    const rows = Array.from({ length: 101 }, (_, i) => 1e6 + Math.sin(i) * 3);
    const all = meanStats(rows);
    const pooled = [0, 10, 11, 60, 101].slice(1).reduce((acc, end, i, ends) => mergeMeanStats(acc, meanStats(rows.slice(i === 0 ? 0 : ends[i - 1], end))), meanStats(rows.slice(0, 0)));
    near(pooled.mean, all.mean, 1e-15);
    near(pooled.m2, all.m2, 1e-9);
    const fromSums = meanStatsFromSums(5, 1 + 2 + 3 + 4 + 10, 1 + 4 + 9 + 16 + 100);
    expect(fromSums).toEqual(meanStats([1, 2, 3, 4, 10]));
    expect(bernoulliStats(3, 4)).toEqual(meanStats([1, 1, 0, 1]));
    expect(() => bernoulliStats(5, 4)).toThrow(/option ones is 5, expected an integer in \[0, 4\]/);
    expect(() => meanStatsFromSums(0, 1, 1)).toThrow(MlRangeError);
  });

  it('binaryRowSums: the sums over n are binaryMetrics’ accuracy, log loss and Brier score', () => {
    const y = [1, 0, 1, 1, 0, 0, 1, 0];
    const p = [0.9, 0.2, 0.4, 1, 0, 0.55, 0.5, 0.49];
    const sums = binaryRowSums(y, p, { threshold: 0.5 });
    const m = binaryMetrics(y, p, { threshold: 0.5 });
    near(sums.accuracy.sum / y.length, m.accuracy, 1e-15);
    near(sums.logLoss.sum / y.length, m.logLoss, 1e-14);
    near(sums.brier.sum / y.length, m.brier, 1e-15);
    expect(sums.accuracy.sumSquares).toBe(sums.accuracy.sum);
  });
});

describe('sequential tests', () => {
  it('reproduce whole looks computed independently (two-sample, one-sample against a declared value)', () => {
    for (const c of ref.sequential) {
      let state: SequentialState = createSequentialState();
      for (const look of c.looks) {
        const reference = typeof look.reference === 'number' ? look.reference : stats(look.reference);
        const r = sequentialLook(state, { candidate: stats(look.candidate), reference }, { higherIsBetter: c.higherIsBetter, margin: c.margin, alpha: c.alpha, tau: c.tau });
        near(r.worsening ?? NaN, look.worsening, 1e-12, 1e-14);
        near(r.information, look.information, 1e-10);
        near(r.logE ?? NaN, look.logE, 1e-10, 1e-11);
        near(r.pValue, look.pValue, 1e-10, 1e-14);
        near(r.lower ?? NaN, look.lower, 1e-10, 1e-12);
        near(r.upper ?? NaN, look.upper, 1e-10, 1e-12);
        expect(r.rejected).toBe(look.pValue <= c.alpha);
        // Rejection and the lower bound agree: worse by more than the margin.
        expect(r.rejected).toBe((r.lower ?? -Infinity) >= c.margin);
        state = JSON.parse(JSON.stringify(r.state)) as SequentialState;
      }
    }
  });

  it('feeds rows incrementally: the same as looking at the totals', () => {
    const opts = { higherIsBetter: true, margin: 0.05 };
    let a = createSequentialState();
    let b = createSequentialState();
    const windows = [
      [40, 33, 60, 49],
      [60, 41, 0, 0],
      [100, 70, 0, 0],
    ];
    let last;
    for (const [n, k, rn, rk] of windows) {
      last = twoSampleSequential(a, { candidate: bernoulliStats(k, n), reference: bernoulliStats(rk, rn) }, opts);
      a = last.state;
      b = sequentialLook(b, { candidate: a.candidate, reference: a.reference }, opts).state;
    }
    expect(a).toEqual(b);
    expect(last?.state.candidate).toMatchObject({ n: 200, mean: 0.72, m2: expect.closeTo(bernoulliStats(144, 200).m2, 10) });
    const one = oneSampleSequential(createSequentialState(), bernoulliStats(144, 200), 0.8, opts);
    expect(one).toMatchObject({ candidateMean: 0.72, referenceMean: 0.8, worsening: expect.closeTo(0.08, 12) });
  });

  it('says why it cannot test yet, and keeps the p-value', () => {
    const opts = { higherIsBetter: false, margin: 0.1 };
    expect(oneSampleSequential(createSequentialState(), meanStats([0.3]), 0.2, opts)).toMatchObject({ pending: 'fewer than 2 rows on the candidate side', pValue: 1, rejected: false, lower: null });
    expect(twoSampleSequential(createSequentialState(), { candidate: meanStats([1, 2]) }, opts).pending).toBe('fewer than 2 rows on the reference side');
    expect(oneSampleSequential(createSequentialState(), meanStats([0.5, 0.5, 0.5]), 0.2, opts).pending).toBe('no spread in the rows yet (every row has the same value)');
    // 0/1 rows that are all correct still have a variance with variance: bernoulli.
    const allRight = oneSampleSequential(createSequentialState(), bernoulliStats(50, 50), 0.9, { higherIsBetter: true, margin: 0.05, variance: 'bernoulli' });
    expect(allRight.pending).toBeUndefined();
    expect(allRight.worsening).toBeCloseTo(-0.1, 12);
  });

  it('refuses bad options, naming them', () => {
    const s = createSequentialState();
    expect(() => oneSampleSequential(s, meanStats([1, 2]), 0, { higherIsBetter: true, margin: 0 })).toThrow('sequentialLook: option tau is required when margin is 0');
    expect(() => oneSampleSequential(s, meanStats([1, 2]), 0, { higherIsBetter: true, margin: 0.1, alpha: 0.5 })).toThrow(/option alpha is 0.5, expected in \(0, 0.5\)/);
    expect(() => oneSampleSequential(s, { n: 2, mean: 1, m2: -1 }, 0, { higherIsBetter: true, margin: 0.1 })).toThrow(/rows.m2 is -1/);
  });
});

describe('alwaysValidHalfWidth', () => {
  it('is the half-width sequentialLook uses, wider than a fixed-look z bound, and 0 without spread', () => {
    const candidate = meanStats([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
    const reference = meanStats([1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0]);
    const look = sequentialLook(createSequentialState(), { candidate, reference }, { higherIsBetter: true, margin: 0.05 });
    const half = alwaysValidHalfWidth(look.standardError ?? 0, 0.05, 0.05);
    expect(look.lower).toBeCloseTo((look.worsening ?? 0) - half, 12);
    expect(half).toBeGreaterThan(1.6449 * (look.standardError ?? 0));
    expect(alwaysValidHalfWidth(0, 0.05, 0.1)).toBe(0);
    expect(() => alwaysValidHalfWidth(-1, 0.05, 0.1)).toThrow(/standardError/);
  });

  it('keeps its coverage when a growing sample is looked at after every row batch (simulation)', () => {
    // 2,000 streams of a mean-zero normal estimate whose se shrinks as rows arrive, looked at 40 times.
    const rng = createRng(11);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    let validMisses = 0;
    let fixedMisses = 0;
    for (let s = 0; s < 2000; s++) {
      let sum = 0;
      let n = 0;
      let v = false;
      let f = false;
      for (let look = 0; look < 40; look++) {
        for (let i = 0; i < 25; i++, n++) sum += gauss();
        const est = sum / n;
        const se = 1 / Math.sqrt(n);
        if (est - alwaysValidHalfWidth(se, 0.05, 0.2) > 0) v = true;
        if (est - 1.6449 * se > 0) f = true;
      }
      if (v) validMisses++;
      if (f) fixedMisses++;
    }
    expect(validMisses / 2000).toBeLessThanOrEqual(0.05);
    expect(fixedMisses / 2000).toBeGreaterThan(0.1);
  });
});
