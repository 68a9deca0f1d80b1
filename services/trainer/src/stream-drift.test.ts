import type { FittedTransform } from '@refit/modeling';
import { describe, expect, it } from 'vitest';
import { updateDrift } from './stream-drift.js';

const t: FittedTransform = {
  version: 1,
  features: [
    { name: 'temp', kind: 'standardize', mean: 10, std: 5 },
    { name: 'wind', kind: 'standardize', mean: 3, std: 1 },
    { name: 'city', kind: 'onehot', categories: ['a'], other: true },
  ],
  outputNames: ['temp', 'wind', 'city=a', 'city=__other__'],
  fittedOnRows: 100,
};

describe('input drift of a frozen transform', () => {
  it('is near 0 on rows like the fitted ones and names the input that moved most', () => {
    const same = updateDrift(t, [{ temp: 9, wind: 3 }, { temp: 11, wind: 3 }], undefined, 100);
    expect(same.drift).toBeCloseTo(0, 9);
    const moved = updateDrift(t, Array.from({ length: 400 }, () => ({ temp: 10, wind: 5.5 })), same.state, 100);
    expect(moved.column).toBe('wind');
    expect(moved.drift).toBeGreaterThan(2.4);
  });

  it('forgets the past with its half-life, and a few rows do not make a shift', () => {
    let look = updateDrift(t, Array.from({ length: 1000 }, () => ({ temp: 30, wind: 3 })), undefined, 50);
    expect(look.drift).toBeCloseTo(4, 6);
    look = updateDrift(t, Array.from({ length: 500 }, () => ({ temp: 10, wind: 3 })), look.state, 50);
    expect(look.drift).toBeLessThan(0.01);
    expect(updateDrift(t, [{ temp: 'x', wind: null }], undefined, 50)).toMatchObject({ drift: 0, column: '' });
  });

  it('carries its state through JSON (it is checkpointed)', () => {
    const a = updateDrift(t, [{ temp: 12, wind: 4 }], undefined, 10);
    const b = updateDrift(t, [{ temp: 14, wind: 2 }], JSON.parse(JSON.stringify(a.state)), 10);
    const c = updateDrift(t, [{ temp: 12, wind: 4 }, { temp: 14, wind: 2 }], undefined, 10);
    expect(b.drift).toBeCloseTo(c.drift, 12);
  });
});

describe('how many rows the drift is made of', () => {
  it('counts the fewest rows behind any input', () => {
    const a = updateDrift(t, [{ temp: 12, wind: 4 }, { temp: 11 }], undefined, 10);
    expect(a.rows).toBe(1);
    expect(updateDrift(t, [], undefined, 10).rows).toBe(0);
  });
});
