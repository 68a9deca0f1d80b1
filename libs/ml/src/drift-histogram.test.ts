import { describe, expect, it } from 'vitest';
import { createRng, driftHistogram, psi, psiCategorical } from './index.js';

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

describe('driftHistogram', () => {
  it('bins a numeric column on the reference deciles PSI uses; each side sums to 1', () => {
    const rng = createRng(3);
    const reference = Array.from({ length: 2000 }, () => rng());
    const current = Array.from({ length: 500 }, () => 0.3 + rng());
    const h = driftHistogram({ name: 'x', reference, current });
    if (!h) throw new Error('expected a histogram');
    const p = psi(reference, current);
    expect(h.edges).toEqual(p.edges);
    expect(h.edges).toHaveLength(9);
    for (let i = 1; i < h.edges.length; i++) expect(h.edges[i]).toBeGreaterThan(h.edges[i - 1]);
    expect(h.reference).toHaveLength(h.edges.length + 1);
    expect(h.current).toHaveLength(h.edges.length + 1);
    expect(sum(h.reference)).toBeCloseTo(1, 12);
    expect(sum(h.current)).toBeCloseTo(1, 12);
    // Reference deciles: a tenth of the reference in each bin; the shifted sample piles into the last.
    for (const s of h.reference) expect(s).toBeCloseTo(0.1, 2);
    expect(h.current.at(-1)).toBeGreaterThan(0.3);
    expect(h.psi).toBe(p.value);
    expect(h.categories).toEqual([]);
  });

  it('merges tied deciles of a nearly constant reference', () => {
    const h = driftHistogram({ name: 'x', reference: [1, 1, 1, 1, 1, 1, 1, 1, 1, 2], current: [0, 1, 2, 3] });
    expect(h?.edges).toEqual([1, 1.0999999999999996]);
    expect(h?.reference).toEqual([0.9, 0, 0.1]);
    expect(h?.current).toEqual([0.5, 0, 0.5]);
  });

  it('has one bin per category, the reference first, then new ones', () => {
    const h = driftHistogram({ name: 'c', reference: ['a', 'a', 'b', 'a'], current: ['b', 'c', 'c', 'a'] });
    expect(h).toEqual({ edges: [], categories: ['a', 'b', 'c'], reference: [0.75, 0.25, 0], current: [0.25, 0.25, 0.5], psi: psiCategorical(['a', 'a', 'b', 'a'], ['b', 'c', 'c', 'a']).value });
    // Numbers declared categorical are categories too, named as strings.
    expect(driftHistogram({ name: 'n', type: 'categorical', reference: [1, 2], current: [2, 2] })?.categories).toEqual(['1', '2']);
  });

  it('is null when a sample is empty', () => {
    expect(driftHistogram({ name: 'x', reference: [], current: [1] })).toBeNull();
    expect(driftHistogram({ name: 'x', reference: ['a'], current: [] })).toBeNull();
  });
});
