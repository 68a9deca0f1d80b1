import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  chiSquareHomogeneity,
  chooseDriftTest,
  columnDrift,
  datasetDrift,
  holm,
  jensenShannonCategorical,
  jensenShannonDistance,
  jensenShannonNumeric,
  proportionZTest,
  wasserstein,
  wassersteinNormalized,
} from './index.js';

interface Ref {
  categorical: Array<{
    name: string;
    reference: string[];
    current: string[];
    categories: string[];
    chi2: number;
    p: number;
    df: number;
    chi2NoCorrection: number;
    pNoCorrection: number;
    jensenShannon: number;
    z?: number;
    zP?: number;
  }>;
  distance: Array<{ name: string; a: number[]; b: number[]; wasserstein: number; wassersteinNormalized: number; jensenShannonNumeric: number }>;
  adjust: Array<{ p: number[]; holm: number[]; bh: number[] }>;
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as Ref;
const near = (a: number, b: number, rel = 1e-10, abs = 1e-14): void => {
  expect(Number.isFinite(a)).toBe(true);
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
};

describe('categorical tests', () => {
  it('chi2_contingency docs example (scipy 1.10): [[10,10,20],[20,20,20]] -> 2.7777..., p 0.2493522087772962, dof 2', () => {
    const reference = [...Array(10).fill('a'), ...Array(10).fill('b'), ...Array(20).fill('c')] as string[];
    const current = [...Array(20).fill('a'), ...Array(20).fill('b'), ...Array(20).fill('c')] as string[];
    const r = chiSquareHomogeneity(reference, current);
    near(r.statistic, 2.7777777777777777);
    near(r.pValue, 0.2493522087772962, 1e-12);
    expect(r.df).toBe(2);
  });
  for (const c of ref.categorical) {
    it(`matches scipy chi2_contingency / jensenshannon: ${c.name}`, () => {
      const r = chiSquareHomogeneity(c.reference, c.current);
      expect(r.categories).toEqual(c.categories);
      expect(r.df).toBe(c.df);
      near(r.statistic, c.chi2, 1e-12);
      near(r.pValue, c.p, 1e-10);
      const nc = chiSquareHomogeneity(c.reference, c.current, { correction: false });
      near(nc.statistic, c.chi2NoCorrection, 1e-12);
      near(nc.pValue, c.pNoCorrection, 1e-10);
      near(jensenShannonCategorical(c.reference, c.current), c.jensenShannon, 1e-12);
      if (c.z !== undefined && c.zP !== undefined) {
        const z = proportionZTest(c.reference, c.current, c.categories[0]);
        near(z.statistic, c.z, 1e-12);
        near(z.pValue, c.zP, 1e-10);
      }
    });
  }
  it('a single category everywhere: chi-square 0, p 1, df 0', () => {
    expect(chiSquareHomogeneity(['x', 'x'], ['x'])).toMatchObject({ statistic: 0, pValue: 1, df: 0 });
    expect(proportionZTest(['x', 'x'], ['x'])).toEqual({ statistic: 0, pValue: 1 });
  });
  it('rejects null categories', () => {
    expect(() => chiSquareHomogeneity(['a', null as unknown as string], ['a'])).toThrow('chiSquareHomogeneity: reference[1] is null');
  });
});

describe('distances', () => {
  it('scipy docs examples', () => {
    // wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0
    expect(wasserstein([0, 1, 3], [5, 6, 8])).toBe(5);
    // jensenshannon([1,0,0],[0,1,0], 2.0) = 1.0; jensenshannon([1,0],[0.5,0.5]) = 0.46450140402245893
    near(jensenShannonDistance([1, 0, 0], [0, 1, 0], 2), 1, 1e-15);
    near(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.46450140402245893, 1e-14);
    expect(jensenShannonDistance([1, 0, 0], [1, 0, 0])).toBe(0);
  });
  for (const c of ref.distance) {
    it(`matches scipy wasserstein_distance / jensenshannon: ${c.name}`, () => {
      near(wasserstein(c.a, c.b), c.wasserstein, 1e-12);
      near(wassersteinNormalized(c.a, c.b), c.wassersteinNormalized, 1e-12);
      near(jensenShannonNumeric(c.a, c.b), c.jensenShannonNumeric, 1e-12);
    });
  }
  it('constant reference: normalisation floors the std at 0.001', () => {
    near(wassersteinNormalized([2, 2, 2], [2, 2, 3]), 1 / 3 / 0.001, 1e-12);
  });
  it('errors', () => {
    expect(() => jensenShannonDistance([0, 0], [1, 0])).toThrow(/sums to 0/);
    expect(() => jensenShannonDistance([1, -1], [1, 0])).toThrow('jensenShannonDistance: p[1] is -1');
    expect(() => wasserstein([1, Infinity], [1])).toThrow('wasserstein: a[1] is Infinity');
  });
});

describe('multiple testing', () => {
  // Benjamini & Hochberg (1995), J. R. Stat. Soc. B 57:289, section 4: 15 p-values; at q = 0.05
  // BH rejects the 4 smallest, while Holm's step-down (Bonferroni-type) rejects 3.
  const bh95 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];
  it('Benjamini-Hochberg 1995 worked example', () => {
    expect(benjaminiHochberg(bh95).filter((p) => p <= 0.05)).toHaveLength(4);
    expect(holm(bh95).filter((p) => p <= 0.05)).toHaveLength(3);
  });
  ref.adjust.forEach((c, i) => {
    it(`matches p.adjust definitions (numpy vectors) case ${i}`, () => {
      holm(c.p).forEach((v, k) => near(v, c.holm[k], 1e-14));
      benjaminiHochberg(c.p).forEach((v, k) => near(v, c.bh[k], 1e-14));
    });
  });
  it('validates', () => {
    expect(holm([])).toEqual([]);
    expect(() => holm([0.1, 1.5])).toThrow('holm: pValues[1] is 1.5');
    expect(() => benjaminiHochberg([NaN])).toThrow('benjaminiHochberg: pValues[0] is NaN');
  });
});

describe('column and dataset drift', () => {
  const seq = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
  it("chooses tests like Evidently's get_default_stattest", () => {
    expect(chooseDriftTest('numeric', 500, 50)).toBe('ks');
    expect(chooseDriftTest('numeric', 500, 4)).toBe('chi-square');
    expect(chooseDriftTest('numeric', 500, 2)).toBe('z');
    expect(chooseDriftTest('categorical', 1000, 3)).toBe('chi-square');
    expect(chooseDriftTest('categorical', 1001, 3)).toBe('jensen-shannon');
    expect(chooseDriftTest('numeric', 5000, 5)).toBe('jensen-shannon');
    expect(chooseDriftTest('numeric', 5000, 6)).toBe('wasserstein');
  });
  it('detects a shift with KS on a small numeric column and not on an identical one', () => {
    const ref = seq(200, (i) => Math.sin(i * 12.9898) * 10);
    expect(columnDrift({ name: 'x', reference: ref, current: ref.map((v) => v + 5) })).toMatchObject({ test: 'ks', status: 'drift' });
    expect(columnDrift({ name: 'x', reference: ref, current: ref })).toMatchObject({ test: 'ks', status: 'no-drift', pValue: 1 });
  });
  it('says not-enough-data below minSamples instead of a verdict', () => {
    const r = columnDrift({ name: 'x', reference: [1, 2, 3], current: [4, 5, 6] });
    expect(r.status).toBe('not-enough-data');
    expect(r.statistic).toBeNull();
  });
  it('uses wasserstein for large numeric references and jensen-shannon for large categorical ones', () => {
    const ref = seq(2000, (i) => (i * 7919) % 1000);
    const w = columnDrift({ name: 'w', reference: ref, current: ref.map((v) => v + 500) });
    expect(w.test).toBe('wasserstein');
    expect(w.status).toBe('drift');
    const cats = Array.from({ length: 2000 }, (_, i) => ['a', 'b', 'c'][i % 3]);
    const j = columnDrift({ name: 'c', reference: cats, current: cats });
    expect(j).toMatchObject({ test: 'jensen-shannon', status: 'no-drift', statistic: 0 });
  });
  it('dataset drift share, corrections and an all-small dataset', () => {
    const ref = seq(100, (i) => Math.sin(i * 78.233) * 3);
    const cols = [
      { name: 'a', reference: ref, current: ref.map((v) => v + 0.9) },
      { name: 'b', reference: ref, current: ref },
      { name: 'c', reference: ref, current: ref.map((v) => v * 1.05) },
      { name: 'd', reference: [1, 2], current: [1, 2] },
    ];
    const none = datasetDrift(cols);
    expect(none.evaluatedColumns).toBe(3);
    expect(none.columns.find((c) => c.column === 'd')?.status).toBe('not-enough-data');
    expect(none.share).toBeCloseTo(none.driftedColumns / 3, 15);
    const h = datasetDrift(cols, { correction: 'holm' });
    for (const c of h.columns) if (c.pValue !== null) expect(c.adjustedPValue as number).toBeGreaterThanOrEqual(c.pValue);
    expect(datasetDrift([cols[3]]).status).toBe('not-enough-data');
    expect(() => datasetDrift([cols[0], cols[0]])).toThrow(/duplicate/);
    expect(() => datasetDrift(cols, { correction: 'x' as 'bh' })).toThrow(/correction/);
  });
  it('numeric drift on NaN is an error naming the column', () => {
    const ref = seq(50, (i) => i);
    expect(() => columnDrift({ name: 'age', reference: ref, current: [...ref.slice(1), NaN] })).toThrow('columnDrift(age): current[49] is NaN');
  });
});
