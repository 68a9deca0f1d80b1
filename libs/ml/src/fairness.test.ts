import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { binaryMetrics, createResampler, createRng, fairness, mulberry32, sliceMetrics } from './index.js';
import type { Disparities } from './index.js';

interface RefGroup {
  n: number;
  selectionRate: number;
  tpr: number | null;
  fpr: number | null;
}
interface Ref {
  fairness: {
    yTrue: number[];
    yPred: number[];
    sex: string[];
    race: string[];
    minGroupSize: number;
    reports: Array<{ sensitive: string[]; groups: Record<string, RefGroup> } & Record<keyof Disparities, number>>;
  };
  mulberry32: Array<{ seed: number; u32: number[] }>;
}
const ref = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as Ref;
const near = (a: number | null, b: number, rel = 1e-12): void => {
  expect(a).not.toBeNull();
  expect(Math.abs((a as number) - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));
};
const KEYS: Array<keyof Disparities> = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
  'equalizedOddsRatio',
  'equalOpportunityDifference',
];

describe('fairness', () => {
  const f = ref.fairness;
  const reports = fairness(f.yTrue, f.yPred, { sex: f.sex, race: f.race }, { minGroupSize: f.minGroupSize, resamples: 200, seed: 3 });
  it('reports each sensitive column and their intersection', () => {
    expect(reports.map((r) => r.sensitive)).toEqual([['sex'], ['race'], ['sex', 'race']]);
  });
  f.reports.forEach((expected, i) => {
    it(`matches Fairlearn's definitions (numpy vectors) for ${expected.sensitive.join(' x ')}`, () => {
      const r = reports[i];
      expect(r.groups.map((g) => g.group).sort()).toEqual(Object.keys(expected.groups).sort());
      for (const g of r.groups) {
        const e = expected.groups[g.group];
        expect(g.n).toBe(e.n);
        near(g.selectionRate, e.selectionRate);
        if (e.tpr === null) expect(g.tpr).toBeNull();
        else near(g.tpr, e.tpr);
        if (e.fpr === null) expect(g.fpr).toBeNull();
        else near(g.fpr, e.fpr);
        expect(g.belowMinSize).toBe(e.n < f.minGroupSize);
      }
      for (const k of KEYS) near(r[k], expected[k]);
      expect(r.excludedGroups).toEqual(r.groups.filter((g) => g.n < f.minGroupSize).map((g) => g.group));
      for (const k of KEYS) {
        const iv = r.intervals?.[k];
        if (iv) expect(iv.lower).toBeLessThanOrEqual(iv.upper);
      }
    });
  });
  it('small intersections are reported and excluded, not dropped', () => {
    const inter = reports[2];
    expect(inter.excludedGroups.length).toBeGreaterThan(0);
    expect(inter.groups.reduce((s, g) => s + g.n, 0)).toBe(f.yTrue.length);
  });
  it('Fairlearn docs-style hand example: two groups', () => {
    // group a: selection 2/4, TPR 1/2... computed by hand from the definitions.
    const y = [1, 1, 0, 0, 1, 1, 0, 0];
    const p = [1, 0, 1, 0, 1, 1, 0, 0];
    const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'];
    const [r] = fairness(y, p, { g }, { minGroupSize: 1, resamples: 0 });
    // selection: a 2/4, b 2/4 -> DP diff 0, ratio 1; TPR a 1/2, b 1; FPR a 1/2, b 0.
    expect(r.demographicParityDifference).toBe(0);
    expect(r.demographicParityRatio).toBe(1);
    expect(r.equalOpportunityDifference).toBe(0.5);
    expect(r.equalizedOddsDifference).toBe(0.5);
    expect(r.equalizedOddsRatio).toBe(0);
    expect(r.intervals).toBeNull();
  });
  it('fewer than two eligible groups gives null disparities; undefined rates are null', () => {
    const [r] = fairness([1, 1, 0], [1, 0, 0], { g: ['a', 'a', 'b'] }, { minGroupSize: 2, resamples: 0 });
    expect(r.demographicParityDifference).toBeNull();
    expect(r.excludedGroups).toEqual(['b']);
    expect(r.groups[1].tpr).toBeNull();
  });
  it('expected groups with zero rows are reported with n = 0 and excluded', () => {
    const [r] = fairness([1, 0, 1, 0], [1, 0, 0, 1], { g: ['a', 'a', 'b', 'b'] }, { minGroupSize: 1, resamples: 0, expectedGroups: { g: ['a', 'b', 'c'] } });
    expect(r.groups.map((g) => [g.group, g.n, g.selectionRate, g.tpr, g.belowMinSize])).toEqual([
      ['a', 2, 0.5, 1, false],
      ['b', 2, 0.5, 0, false],
      ['c', 0, null, null, true],
    ]);
    expect(r.excludedGroups).toEqual(['c']);
    expect(r.equalOpportunityDifference).toBe(1);
  });
  it('thresholds scores and validates inputs', () => {
    const [r] = fairness([1, 0], [0.7, 0.2], { g: ['a', 'b'] }, { threshold: 0.5, minGroupSize: 1, resamples: 0 });
    expect(r.groups.map((g) => g.selectionRate)).toEqual([1, 0]);
    expect(() => fairness([1, 0], [1, 0], { g: ['a'] })).toThrow(/length/);
    expect(() => fairness([1, 0], [1, 0], {})).toThrow(/no sensitive column/);
    expect(() => fairness([1, 0], [1, 0], { g: ['a', NaN] })).toThrow('fairness: sensitive.g[1] is NaN');
  });
});

describe('sliceMetrics', () => {
  it('equals binaryMetrics on each slice and flags small slices', () => {
    const y = [1, 0, 1, 0, 1, 0, 0];
    const p = [0.9, 0.1, 0.4, 0.6, 0.8, 0.3, 0.2];
    const s = ['x', 'x', 'y', 'y', 'x', 'x', 'z'];
    const out = sliceMetrics(y, p, s, { minSize: 3 });
    expect(out.map((o) => [o.slice, o.n, o.belowMinSize])).toEqual([
      ['x', 4, false],
      ['y', 2, true],
      ['z', 1, true],
    ]);
    expect(out[0].metrics).toEqual(binaryMetrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3]));
    expect(out[2].metrics.rocAuc).toBeNull();
    expect(() => sliceMetrics(y, p, s.slice(1))).toThrow(/length/);
  });
});

describe('random', () => {
  it('matches the canonical C mulberry32 (Tommy Ettinger) sequence and is deterministic', () => {
    for (const c of ref.mulberry32) {
      const r = createRng(c.seed);
      expect(c.u32.map(() => r() * 4294967296)).toEqual(c.u32);
    }
    expect(mulberry32).toBe(createRng);
    const a = createRng(42);
    const b = createRng(42);
    for (let i = 0; i < 100; i++) expect(a()).toBe(b());
  });
  it('resampler draws n rows with replacement', () => {
    const w = new Uint32Array(1000);
    createResampler(7)(w);
    expect(w.reduce((s, v) => s + v, 0)).toBe(1000);
    // Share of rows never drawn is about 1/e.
    expect(Math.abs(w.filter((v) => v === 0).length / 1000 - Math.exp(-1))).toBeLessThan(0.05);
  });
});
