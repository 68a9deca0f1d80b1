import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MlRangeError,
  chiSquareSf,
  kolmogorovLimitSf,
  kolmogorovSf,
  ksAsymptoticPValue,
  ksExactPValue,
  ksTwoSample,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  psi,
  psiCategorical,
  sortedSample,
} from './index.js';

interface PsiCase {
  name: string;
  reference: number[];
  current: number[];
  bins: number;
  value: number;
  edges: number[];
  referenceShares: number[];
  currentShares: number[];
}
interface Ref {
  psi: PsiCase[];
  ks: {
    data: Array<{ a: number[]; b: number[]; statistic: number; pValue: number }>;
    exact: Array<{ n1: number; n2: number; d: number; p: number }>;
    asymptotic: Array<{ n1: number; n2: number; d: number; p: number }>;
    kstwo: Array<{ n: number; x: number; sf: number }>;
  };
  special: {
    chi2: Array<{ x: number; df: number; sf: number }>;
    normal: Array<{ z: number; cdf: number; sf: number }>;
    normalPpf: Array<{ p: number; z: number }>;
    logGamma: Array<{ x: number; value: number }>;
    kolmogorovLimit: Array<{ z: number; sf: number }>;
  };
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as Ref;

/** |a - b| <= rel * |b| + abs */
const near = (a: number, b: number, rel = 1e-9, abs = 1e-14): void => {
  expect(Number.isFinite(a)).toBe(true);
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
};

describe('psi', () => {
  for (const c of ref.psi) {
    it(`matches the numpy reference implementation: ${c.name}`, () => {
      const r = psi(c.reference, c.current, { bins: c.bins });
      expect(r.edges).toEqual(c.edges);
      r.referenceShares.forEach((s, k) => near(s, c.referenceShares[k], 1e-12));
      r.currentShares.forEach((s, k) => near(s, c.currentShares[k], 1e-12));
      near(r.value, c.value, 1e-10);
      const sorted = psi(sortedSample(c.reference), sortedSample(c.current), { bins: c.bins });
      near(sorted.value, c.value, 1e-10);
    });
  }
  it('is 0 for identical samples and grows with shift', () => {
    const x = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    expect(psi(x, x).value).toBe(0);
    expect(psi(x, x.map((v) => v + 1)).value).toBeGreaterThan(0.25);
  });
  it('worked example: Yurdakul (2018) style hand computation with two bins', () => {
    // ref shares [0.5, 0.5], cur [0.25, 0.75]: PSI = (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5) = 0.27465307216702745
    const r = psi([1, 2, 3, 4], [1, 3, 4, 4], { bins: 2 });
    expect(r.edges).toEqual([2.5]);
    near(r.value, -0.25 * Math.log(0.5) + 0.25 * Math.log(1.5), 1e-15);
  });
  it('constant reference gets below/at/above bins', () => {
    const r = psi([3, 3, 3], [2, 3, 4, 5]);
    expect(r.referenceShares).toEqual([0, 1, 0]);
    expect(r.currentShares).toEqual([0.25, 0.25, 0.5]);
  });
  it('rejects bad input with clear messages', () => {
    expect(() => psi([1, 2, NaN], [1])).toThrow('psi: reference[2] is NaN');
    expect(() => psi([1, 2], [])).toThrow('psi: current is empty');
    expect(() => psi([1, 2], [1], { bins: 0 })).toThrow(MlRangeError);
    expect(() => psi([1, 2], [1], { epsilon: 0 })).toThrow(/epsilon/);
  });
  it('categorical PSI with a category missing from one side', () => {
    const r = psiCategorical(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'c']);
    expect(r.categories).toEqual(['a', 'b', 'c']);
    expect(r.referenceShares).toEqual([0.5, 0.5, 0]);
    const e = 1e-4;
    near(r.value, (0.25 - 0.5) * Math.log(0.25 / 0.5) + 0 + (0.25 - e) * Math.log(0.25 / e), 1e-14);
    expect(() => psiCategorical([], ['a'])).toThrow(/reference is empty/);
  });
});

describe('ksTwoSample', () => {
  ref.ks.data.forEach((c, i) => {
    it(`matches scipy ks_2samp on data case ${i} (n=${c.a.length},${c.b.length})`, () => {
      const r = ksTwoSample(c.a, c.b);
      expect(r.method).toBe('exact');
      near(r.statistic, c.statistic, 1e-15);
      near(r.pValue, c.pValue, 1e-9, 1e-13);
      const swapped = ksTwoSample(Float32Array.from(c.b).map((_, k) => c.b[k]), c.a);
      near(swapped.pValue, c.pValue, 1e-9, 1e-13);
    });
  });
  it('matches scipy exact p-values (_attempt_exact_2kssamp) over sizes up to 10000', () => {
    for (const c of ref.ks.exact) near(ksExactPValue(c.n1, c.n2, c.d), c.p, 1e-8, 1e-12);
  });
  it('matches scipy asymptotic p-values kstwo.sf(d, round(en))', () => {
    for (const c of ref.ks.asymptotic) near(ksAsymptoticPValue(c.n1, c.n2, c.d), c.p, 1e-8, 1e-14);
  });
  it('matches scipy kstwo.sf across all algorithm branches', () => {
    for (const c of ref.ks.kstwo) near(kolmogorovSf(c.n, c.x), c.sf, 1e-8, 1e-14);
  });
  it('uses the asymptotic branch above 10000 and exact when asked', () => {
    const a = Array.from({ length: 10001 }, (_, i) => i);
    const b = Array.from({ length: 50 }, (_, i) => i * 200 + 0.5);
    expect(ksTwoSample(a, b).method).toBe('asymptotic');
    expect(ksTwoSample(a.slice(0, 300), b, { method: 'exact' }).method).toBe('exact');
  });
  it('identical samples: D = 0, p = 1; disjoint samples: D = 1', () => {
    expect(ksTwoSample([1, 2, 3], [1, 2, 3])).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    expect(ksTwoSample([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
    // Published: for n = m = 3 and D = 1 the exact p is 2 / C(6,3) = 0.1 (Hodges 1958).
    near(ksTwoSample([1, 2, 3], [4, 5, 6]).pValue, 0.1, 1e-14);
  });
  it('constant columns: equal constants give D = 0, different constants D = 1', () => {
    expect(ksTwoSample([5, 5, 5], [5, 5])).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    expect(ksTwoSample([5, 5, 5], [6, 6]).statistic).toBe(1);
    expect(psi([5, 5, 5], [5, 5]).value).toBe(0);
  });
  it('errors on NaN and empty samples', () => {
    expect(() => ksTwoSample([1, NaN], [1])).toThrow('ksTwoSample: a[1] is NaN');
    expect(() => ksTwoSample([1], [])).toThrow('ksTwoSample: b is empty');
    expect(() => ksTwoSample([1], [2], { method: 'x' as 'exact' })).toThrow(/method/);
  });
});

describe('special functions vs scipy', () => {
  it('chi2.sf', () => {
    for (const c of ref.special.chi2) near(chiSquareSf(c.x, c.df), c.sf, 1e-11, 1e-300);
  });
  it('norm.cdf / norm.sf / norm.ppf', () => {
    for (const c of ref.special.normal) {
      near(normalCdf(c.z), c.cdf, 1e-12, 1e-300);
      near(normalSf(c.z), c.sf, 1e-12, 1e-300);
    }
    for (const c of ref.special.normalPpf) near(normalQuantile(c.p), c.z, 1e-12);
  });
  it('gammaln', () => {
    for (const c of ref.special.logGamma) near(logGamma(c.x), c.value, 1e-13, 1e-14);
  });
  it('kstwobign.sf', () => {
    for (const c of ref.special.kolmogorovLimit) near(kolmogorovLimitSf(c.z), c.sf, 1e-10, 1e-15);
  });
});
