import { describe, expect, it } from 'vitest';
import { applyGates } from './gates.js';

const gates = { floors: { accuracy: 0.6, logLoss: 0.7 }, champion: { metric: 'auc' as const, margin: 0.01 } };

describe('applyGates', () => {
  it('judges a first model on its floors alone', () => {
    const r = applyGates(gates, { accuracy: 0.72, logLoss: 0.55, auc: 0.8 }, undefined);
    expect(r.every((g) => g.passed)).toBe(true);
    expect(r.map((g) => g.reason)).toEqual([
      'accuracy 0.7200 meets the floor 0.6000',
      'logLoss 0.5500 is within the ceiling 0.7000',
      'no champion yet: the candidate is judged on its floors alone',
    ]);
  });

  it('fails a floor, and a ceiling for lower-is-better metrics', () => {
    const r = applyGates(gates, { accuracy: 0.5, logLoss: 0.9, auc: 0.8 }, undefined);
    expect(r.filter((g) => !g.passed).map((g) => g.gate)).toEqual(['floor:accuracy', 'floor:logLoss']);
  });

  it('passes within the margin and fails beyond it', () => {
    const champion = { version: 'v1', metrics: { auc: 0.8 } };
    expect(applyGates(gates, { accuracy: 0.7, logLoss: 0.5, auc: 0.795 }, champion).at(-1)?.passed).toBe(true);
    const worse = applyGates(gates, { accuracy: 0.7, logLoss: 0.5, auc: 0.78 }, champion).at(-1);
    expect(worse?.passed).toBe(false);
    expect(worse?.reason).toMatch(/auc 0\.7800 vs champion v1's 0\.8000 .*\(-0\.0200\): worse than the champion beyond the margin 0\.0100/);
  });

  it('compares lower-is-better metrics the right way round', () => {
    const g = { floors: {}, champion: { metric: 'logLoss' as const, margin: 0 } };
    expect(applyGates(g, { logLoss: 0.4 }, { version: 'v2', metrics: { logLoss: 0.5 } })[0].passed).toBe(true);
    expect(applyGates(g, { logLoss: 0.6 }, { version: 'v2', metrics: { logLoss: 0.5 } })[0].passed).toBe(false);
  });

  it('fails rather than passes when a metric is missing', () => {
    expect(applyGates(gates, { accuracy: 0.9, logLoss: 0.1 }, { version: 'v1', metrics: {} }).at(-1)?.passed).toBe(false);
  });
});
