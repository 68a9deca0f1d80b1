import { describe, expect, it } from 'vitest';
import { FeatureWindows } from './feature-window.js';

describe('FeatureWindows', () => {
  it('keeps every row while under capacity, then a bounded uniform sample', () => {
    const w = new FeatureWindows(100);
    w.add('p', Array.from({ length: 50 }, (_, i) => ({ i })));
    expect(w.take('p')).toHaveLength(50);
    expect(w.take('p')).toEqual([]);
    w.add('p', Array.from({ length: 10_000 }, (_, i) => ({ i })));
    const sample = w.take('p');
    expect(sample).toHaveLength(100);
    // Uniform over the whole stream: the mean index is near the middle, not near the start.
    const mean = sample.reduce((a, r) => a + (r.i as number), 0) / sample.length;
    expect(mean).toBeGreaterThan(3500);
    expect(mean).toBeLessThan(6500);
  });

  it('keeps pipelines apart', () => {
    const w = new FeatureWindows(10);
    w.add('a', [{ x: 1 }]);
    w.add('b', [{ x: 2 }, { x: 3 }]);
    expect(w.take('a')).toEqual([{ x: 1 }]);
    expect(w.take('b')).toEqual([{ x: 2 }, { x: 3 }]);
  });
});
