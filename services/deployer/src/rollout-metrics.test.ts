import { alwaysValidHalfWidth, createRng, deLongTest, normalCdf, rocAuc } from '@refit/ml';
import { describe, expect, it } from 'vitest';
import { analyseStep, mixingScale } from './rollout-analysis.js';

const base = { margin: 0.02, alpha: 0.05, minLabeled: 50 };

// n rows, about half positive; scores separate the classes by `signal` (plus noise), seeded.
function scored(n: number, signal: number, seed: number): { y: number[]; p: number[] } {
  const rng = createRng(seed);
  const y = Array.from({ length: n }, () => (rng() < 0.4 ? 1 : 0));
  return { y, p: y.map((v) => Math.min(0.999, Math.max(0.001, 0.5 + signal * (v - 0.5) + (rng() - 0.5) * 0.8))) };
}

// DeLong's variance of one AUC from its structural components, by the O(n²) definition.
function deLongVariance(y: number[], p: number[]): number {
  const pos = p.filter((_, i) => y[i] === 1);
  const neg = p.filter((_, i) => y[i] === 0);
  const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  const v10 = pos.map((x) => neg.reduce((s, z) => s + psi(x, z), 0) / neg.length);
  const v01 = neg.map((z) => pos.reduce((s, x) => s + psi(x, z), 0) / pos.length);
  const s2 = (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
  };
  return s2(v10) / pos.length + s2(v01) / neg.length;
}

describe('AUC as a rollout metric', () => {
  const spec = { ...base, metric: 'auc' };

  it('paired rows: DeLong on the same rows (libs/ml deLongTest), normal one-sided bounds', () => {
    const champion = scored(400, 0.5, 1);
    const candidate = { y: champion.y, p: champion.p.map((x, i) => (i % 3 === 0 ? 1 - x : x)) };
    const a = analyseStep(spec, candidate, champion, true);
    const d = deLongTest(champion.y, champion.p, candidate.p);
    expect(a).toMatchObject({ test: 'delong', paired: true, candidate: d.aucB, champion: d.aucA, outcome: 'fail' });
    // Always-valid bounds around DeLong's estimate and standard error (the step is looked at every tick).
    const half = alwaysValidHalfWidth(d.standardError, 0.05, mixingScale(spec));
    expect(a.lower).toBeCloseTo(d.difference - half, 10);
    expect(a.upper).toBeCloseTo(d.difference + half, 10);
    expect(a.pWorse).toBeCloseTo(normalCdf(d.difference / d.standardError), 12);
    expect(a.reason).toMatch(/^fail: auc 0\.\d{4} \(n=400\) vs champion 0\.\d{4} \(n=400\) on the same rows, gain -0\.\d{4}/);
  });

  it('independent arms: each AUC with its own DeLong variance, the difference with their sum', () => {
    const candidate = scored(300, 0.5, 2);
    const champion = scored(500, 0.55, 3);
    const a = analyseStep(spec, candidate, champion, false);
    const se = Math.sqrt(deLongVariance(candidate.y, candidate.p) + deLongVariance(champion.y, champion.p));
    const gain = rocAuc(candidate.y, candidate.p) - rocAuc(champion.y, champion.p);
    expect(a).toMatchObject({ test: 'delong-unpaired', paired: false });
    expect(a.gain).toBeCloseTo(gain, 12);
    const half = alwaysValidHalfWidth(se, 0.05, mixingScale(spec));
    expect(a.lower).toBeCloseTo(gain - half, 8);
    expect(a.upper).toBeCloseTo(gain + half, 8);
    expect(a.outcome).toBe(a.lower > -0.02 ? 'pass' : a.upper < -0.02 ? 'fail' : 'inconclusive');
  });

  it('is inconclusive, with the counts, while a side lacks two labels of each class', () => {
    const one = { y: Array.from({ length: 100 }, (_, i) => (i === 0 ? 1 : 0)), p: Array.from({ length: 100 }, (_, i) => i / 100) };
    const a = analyseStep(spec, one, scored(100, 0.5, 4), false);
    expect(a.outcome).toBe('inconclusive');
    expect(a.reason).toContain('AUC needs at least 2 positive and 2 negative labels a side; the candidate has 1 and 99');
  });
});

describe('a business metric as a rollout metric', () => {
  const business = { expr: '1000 * cost / n', goal: 'minimize' as const, costs: { fp: 1, fn: 5, tp: 0, tn: 0 } };
  const spec = { ...base, margin: 20, metric: 'expectedCostPer1000', business };
  const costPer1000 = (s: { y: number[]; p: number[] }, t: number) => (1000 * s.y.reduce((c, y, i) => c + ((s.p[i] >= t ? 1 : 0) === y ? 0 : y === 1 ? 5 : 1), 0)) / s.y.length;

  it('is computed at each side’s own threshold and oriented by its goal', () => {
    const candidate = scored(600, 0.3, 5);
    const champion = scored(600, 0.3, 6);
    // The candidate decides at 0.3 (fewer costly misses), the champion at 0.5.
    const a = analyseStep(spec, { ...candidate, threshold: 0.3 }, champion, false);
    expect(a).toMatchObject({ test: 'bootstrap', paired: false, metric: 'expectedCostPer1000' });
    expect(a.candidate).toBeCloseTo(costPer1000(candidate, 0.3), 9);
    expect(a.champion).toBeCloseTo(costPer1000(champion, 0.5), 9);
    // Lower cost is better: gain = champion − candidate.
    expect(a.gain).toBeCloseTo(a.champion - a.candidate, 9);
    expect(a.lower).toBeLessThan(a.gain);
    expect(a.upper).toBeGreaterThan(a.gain);
  });

  it('paired rows are resampled together, so a small consistent loss is caught that independent arms miss', () => {
    const champion = scored(1500, 0.6, 7);
    // The same rows; the candidate misses 36 of the champion's right positives (each costs 5).
    let flipped = 0;
    const candidate = {
      y: champion.y,
      p: champion.p.map((x, i) => (champion.y[i] === 1 && x >= 0.5 && flipped++ < 36 ? 0.2 : x)),
    };
    const paired = analyseStep({ ...spec, margin: 40 }, candidate, champion, true);
    expect(paired).toMatchObject({ test: 'paired-bootstrap', outcome: 'fail' });
    expect(paired.candidate - paired.champion).toBeCloseTo((1000 * 36 * 5) / 1500, 9);
    expect(analyseStep({ ...spec, margin: 40 }, candidate, champion, false).outcome).toBe('inconclusive');
  });

  it('is inconclusive when the metric is undefined on the rows (a division by zero)', () => {
    const ratio = { ...business, expr: 'tp / (tp + fp)', goal: 'maximize' as const };
    const never = { y: Array.from({ length: 60 }, () => 1), p: Array.from({ length: 60 }, () => 0.1) };
    const a = analyseStep({ ...spec, business: ratio, metric: 'precision_live' }, never, never, true);
    expect(a.outcome).toBe('inconclusive');
    expect(a.reason).toContain('precision_live cannot be compared on these 60 rows: the metric is undefined on these rows');
  });
});
