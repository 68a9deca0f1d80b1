import { describe, expect, it } from 'vitest';
import { consistency, consistencyOf, createRng, MlRangeError, nearestNeighbours } from './index.js';

// Five points on a line, k = 2 (self excluded). Neighbours by hand:
// 0 → [1, 2]; 1 → [0, 2]; 2 → [1, 0]; 3 → [4, 2]; 4 → [3, 2].
const line = Float64Array.from([0, 1, 3, 7, 8]);
const scores = [0.9, 0.8, 0.3, 0.2, 0.6];

/** kNN by sorting every distance: the slow, obvious reference. */
function naiveNeighbours(X: Float64Array, n: number, d: number, k: number): number[][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .map((j) => ({ j, dist: Array.from({ length: d }, (_, c) => (X[i * d + c] - X[j * d + c]) ** 2).reduce((a, b) => a + b, 0) }))
      .sort((a, b) => a.dist - b.dist || a.j - b.j)
      .slice(0, k)
      .map((x) => x.j),
  );
}

describe('consistency (Zemel et al. 2013)', () => {
  it('matches a hand-computed example, overall and per group, on labels and on scores', () => {
    const nb = nearestNeighbours(line, 5, 1, { k: 2 });
    expect(Array.from(nb.neighbours)).toEqual([1, 2, 0, 2, 1, 0, 4, 2, 3, 2]);
    const r = consistencyOf(nb, scores, { groups: { g: ['a', 'a', 'b', 'b', 'b'] }, minGroupSize: 3 });
    // Labels [1, 1, 0, 0, 1]: |ŷ − neighbour mean| = 0.5, 0.5, 1, 0.5, 1 → 1 − 3.5 / 5.
    expect(r.score).toBeCloseTo(0.3, 12);
    // Scores: 0.35, 0.2, 0.55, 0.25, 0.35 → 1 − 1.7 / 5.
    expect(r.probabilityScore).toBeCloseTo(0.66, 12);
    expect(r).toMatchObject({ k: 2, n: 5, queries: 5, sampled: false });
    expect(r.groups).toHaveLength(2);
    expect(r.groups[0]).toMatchObject({ sensitive: 'g', group: 'a', n: 2, belowMinSize: true });
    expect(r.groups[0].score).toBeCloseTo(0.5, 12);
    expect(r.groups[0].probabilityScore).toBeCloseTo(0.725, 12);
    expect(r.groups[1]).toMatchObject({ group: 'b', n: 3, belowMinSize: false });
    expect(r.groups[1].score).toBeCloseTo(1 - 2.5 / 3, 12);
    expect(r.groups[1].probabilityScore).toBeCloseTo(1 - 1.15 / 3, 12);
  });

  it("reproduces AIF360's definition (the row counts as its own first neighbour) on a tiny data set", () => {
    // Two clusters in 2-D; predictions are labels already.
    const X = Float64Array.from([0, 0, 0, 1, 1, 0, 6, 5, 5, 6]);
    const y = [1, 0, 1, 0, 0];
    // AIF360, n_neighbors = 3 with self: neighbour sets {0,1,2} {1,0,2} {2,0,1} {3,4,2} {4,3,1}
    // → |y − mean| = 1/3, 2/3, 1/3, 1/3, 0 → 1 − (5/3) / 5 = 2/3.
    const aif = consistency(X, 5, 2, y, { k: 3, includeSelf: true });
    expect(aif.score).toBeCloseTo(2 / 3, 12);
    // Zemel, k = 2 other rows: 0.5, 1, 0.5, 0.5, 0 → 1 − 2.5 / 5 = 0.5.
    const zemel = consistency(X, 5, 2, y, { k: 2 });
    expect(zemel.score).toBeCloseTo(0.5, 12);
    // With self, |y_i − (y_i + S)/k| = (k−1)/k · |y_i − S/(k−1)|: the two definitions are affine.
    expect(1 - aif.score).toBeCloseTo((2 / 3) * (1 - zemel.score), 12);
  });

  it('finds exactly the neighbours of a full sort, ties going to the lower row index', () => {
    const rng = createRng(3);
    const n = 120;
    const d = 3;
    // Rounded coordinates make ties frequent.
    const X = Float64Array.from({ length: n * d }, () => Math.round(rng() * 4));
    const nb = nearestNeighbours(X, n, d, { k: 5 });
    const naive = naiveNeighbours(X, n, d, 5);
    for (let i = 0; i < n; i++) expect(Array.from(nb.neighbours.subarray(i * 5, i * 5 + 5))).toEqual(naive[i]);
  });

  it('lowers k to the rows available when n ≤ k, and refuses fewer than two rows', () => {
    const r = consistency(Float64Array.from([0, 1, 5]), 3, 1, [1, 1, 0], { k: 5 });
    // Every row's neighbours are the two others: |1 − 0.5|, |1 − 0.5|, |0 − 1| → 1 − 2/3.
    expect(r.k).toBe(2);
    expect(r.score).toBeCloseTo(1 / 3, 12);
    expect(() => consistency([1], 1, 1, [1])).toThrow(MlRangeError);
    expect(() => consistency([1], 1, 1, [1])).toThrow(/at least 2 rows, got 1/);
    expect(consistency([1], 1, 1, [1], { includeSelf: true }).score).toBe(1);
  });

  it('is 1 for constant predictions whatever the features', () => {
    const rng = createRng(9);
    const X = Float64Array.from({ length: 200 }, () => rng());
    expect(consistency(X, 100, 2, new Float64Array(100).fill(0.7)).score).toBe(1);
    expect(consistency(X, 100, 2, new Float64Array(100).fill(0.7)).probabilityScore).toBe(1);
    expect(consistency(X, 100, 2, new Float64Array(100)).score).toBe(1);
  });

  it('reports an expected group with no rows with null scores instead of dropping it', () => {
    const r = consistency(line, 5, 1, scores, { k: 2, groups: { g: ['a', 'a', 'b', 'b', null] }, expectedGroups: { g: ['a', 'b', 'c'] } });
    expect(r.groups.map((g) => [g.group, g.n])).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 0],
      ['(missing)', 1],
    ]);
    expect(r.groups[2]).toMatchObject({ score: null, probabilityScore: null, belowMinSize: true });
  });

  it('queries a seeded sample of rows against all rows above maxQueries, and says so', () => {
    const rng = createRng(5);
    const n = 300;
    const X = Float64Array.from({ length: n * 2 }, () => rng());
    const y = Float64Array.from({ length: n }, (_, i) => (X[i * 2] + 0.3 * rng() > 0.6 ? 0.8 : 0.2));
    const full = nearestNeighbours(X, n, 2, { k: 5 });
    const a = nearestNeighbours(X, n, 2, { k: 5, maxQueries: 50, seed: 1 });
    expect(a.sampled).toBe(true);
    expect(a.queries).toHaveLength(50);
    expect(new Set(a.queries).size).toBe(50);
    expect(Array.from(a.queries)).toEqual([...a.queries].sort((p, q) => p - q));
    expect(nearestNeighbours(X, n, 2, { k: 5, maxQueries: 50, seed: 1 }).queries).toEqual(a.queries);
    expect(nearestNeighbours(X, n, 2, { k: 5, maxQueries: 50, seed: 2 }).queries).not.toEqual(a.queries);
    // Each sampled row has its neighbours among all rows, as in the full search.
    a.queries.forEach((q, qi) => expect(a.neighbours.subarray(qi * 5, qi * 5 + 5)).toEqual(full.neighbours.subarray(q * 5, q * 5 + 5)));
    const r = consistencyOf(a, y);
    expect(r).toMatchObject({ sampled: true, queries: 50, n });
    const perRow = consistencyOf(full, y);
    expect(Math.abs(r.score - perRow.score)).toBeLessThan(0.1);
  });

  it('names the bad argument', () => {
    expect(() => nearestNeighbours([0, 1, 2], 2, 2)).toThrow(/X has length 3, expected n·d = 2·2 = 4/);
    expect(() => nearestNeighbours([0, Number.NaN], 2, 1)).toThrow(/X\[1\] is NaN/);
    expect(() => nearestNeighbours([0, 1], 2, 1, { k: 0 })).toThrow(/option k is 0/);
    const nb = nearestNeighbours([0, 1, 2], 3, 1);
    expect(() => consistencyOf(nb, [0.5, 0.5])).toThrow(/yPred has length 2, expected one per row searched \(3\)/);
    expect(() => consistencyOf(nb, [0.5, 2, 0.5])).toThrow(/yPred\[1\] is 2, expected a probability/);
    expect(() => consistencyOf(nb, [0.5, 0.5, 0.5], { groups: { g: ['a'] } })).toThrow(/groups\.g has length 1, expected 3/);
  });
});
