import { describe, expect, it } from 'vitest';
import { bernoulliDraw, simulateRepeatedLooks, type Draw } from './sequential-simulation.js';

// Seeded simulations of monitoring that looks after every batch. The null streams sit on the
// null's boundary (worse by exactly the margin), where false alarms are likeliest. Monte-Carlo
// error of a share near 0.05 over 2,000 streams is about 0.005: the always-valid test must stay
// at or under α + 0.01. Larger runs: bench/sequential.ts (bench/results/sequential.json).
const ALPHA = 0.05;
const report = (name: string, r: ReturnType<typeof simulateRepeatedLooks>) =>
  console.log(`${name}: always-valid ${r.alwaysValid}, fixed-level at every look ${r.repeatedFixed}, fixed-level at the last look only ${r.lastLookFixed} (${r.streams} streams x ${r.looks} looks)`);
/** Per-row log loss of a calibrated-ish model: exponential with the given mean (skewed, unbounded). */
const lossDraw = (mean: number): Draw => (rng) => -Math.log(1 - rng()) * mean;

describe('always-valid under repeated looks (performance trigger: live rows against a warm-up reference)', () => {
  it('2,000 null streams, 50 looks of 50 rows: false alarms stay under α; a fixed-level test repeated at each look does not', () => {
    const r = simulateRepeatedLooks({
      streams: 2000,
      looks: 50,
      candidatePerLook: 50,
      candidate: bernoulliDraw(0.75),
      reference: { warmup: 500, draw: bernoulliDraw(0.8) },
      options: { higherIsBetter: true, margin: 0.05, alpha: ALPHA, variance: 'bernoulli' },
      seed: 14,
    });
    report('accuracy, null at the boundary', r);
    expect(r.alwaysValid).toBeLessThanOrEqual(ALPHA + 0.01);
    expect(r.repeatedFixed).toBeGreaterThan(2 * ALPHA);
    // One look at a fixed level is fine on its own: the excess comes from looking again and again.
    expect(r.lastLookFixed).toBeLessThan(ALPHA + 0.02);
  });

  it('fires on a real drop: accuracy 0.80 → 0.65 (maxDrop 0.05) in nearly every stream, within a few looks', () => {
    const r = simulateRepeatedLooks({
      streams: 1000,
      looks: 50,
      candidatePerLook: 50,
      candidate: bernoulliDraw(0.65),
      reference: { warmup: 500, draw: bernoulliDraw(0.8) },
      options: { higherIsBetter: true, margin: 0.05, alpha: ALPHA, variance: 'bernoulli' },
      seed: 15,
    });
    report('accuracy 0.80 → 0.65', r);
    expect(r.alwaysValid).toBeGreaterThanOrEqual(0.95);
    expect(r.medianRejectionLook).toBeLessThanOrEqual(10);
  });

  it('log loss rows (skewed, unbounded, plug-in variances): false alarms stay under α', () => {
    const r = simulateRepeatedLooks({
      streams: 1000,
      looks: 50,
      candidatePerLook: 50,
      candidate: lossDraw(0.55),
      reference: { warmup: 500, draw: lossDraw(0.5) },
      options: { higherIsBetter: false, margin: 0.05, alpha: ALPHA },
      seed: 16,
    });
    report('log loss, null at the boundary', r);
    expect(r.alwaysValid).toBeLessThanOrEqual(ALPHA + 0.015);
    expect(r.repeatedFixed).toBeGreaterThan(2 * ALPHA);
  });
});

describe('always-valid under repeated looks (rollout: candidate against a growing champion)', () => {
  it('a 10 % canary analysed at every tick: false alarms stay under α', () => {
    const r = simulateRepeatedLooks({
      streams: 1000,
      looks: 50,
      candidatePerLook: 20,
      candidate: bernoulliDraw(0.76),
      reference: { perLook: 180, draw: bernoulliDraw(0.78) },
      options: { higherIsBetter: true, margin: 0.02, alpha: ALPHA, variance: 'bernoulli' },
      seed: 17,
    });
    report('canary, null at the boundary', r);
    expect(r.alwaysValid).toBeLessThanOrEqual(ALPHA + 0.015);
    expect(r.repeatedFixed).toBeGreaterThan(2 * ALPHA);
  });
});
