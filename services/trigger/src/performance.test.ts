import { describe, expect, it } from 'vitest';
import { evaluatePerformance, performanceSummary, type PerformanceState, type PerformanceWindow } from './performance.js';

type Policy = Parameters<typeof evaluatePerformance>[0];
const policy = (over: Partial<Policy> = {}): Policy => ({ kind: 'performance', metric: 'accuracy', maxDrop: 0.05, minLabeled: 300, reference: 'live', alpha: 0.05, ...over });
const higher = { lowerIsBetter: false, business: null };
const end = (i: number) => new Date(Date.UTC(2026, 10, 26, 12, i)).toISOString();
/** A window of `n` labelled predictions of which `right` were right (accuracy sums as the deployer sends them). */
const accWindow = (i: number, n: number, right: number): PerformanceWindow => ({
  version: 'v1',
  windowEnd: end(i),
  labeled: n,
  metrics: n ? { accuracy: right / n } : {},
  rowSums: n ? { accuracy: { sum: right, sumSquares: right } } : {},
});

/** Feeds windows in order; returns every evaluation and the final state. */
function feed(p: Policy, windows: PerformanceWindow[], ctx = higher, start?: PerformanceState) {
  let state = start;
  const out = [];
  for (const w of windows) {
    const r = evaluatePerformance(p, state, w, ctx);
    state = r.state;
    out.push(r.evaluation);
  }
  return { evaluations: out, state: state as PerformanceState };
}

describe('performance policy: reference from live warm-up, then an always-valid test', () => {
  it('never fires on a retired champion: late labels of a replaced model are counted and recorded, no run starts', () => {
    const warm = [accWindow(0, 150, 120), accWindow(1, 150, 120)];
    const drop = Array.from({ length: 6 }, (_, i) => ({ ...accWindow(2 + i, 100, 60), retired: true }));
    const { evaluations, state } = feed(policy(), [...warm, ...drop]);
    expect(evaluations.filter((e) => e.fired)).toEqual([]);
    const last = evaluations.at(-1)!;
    expect(last.reason).toMatch(/— performance dropped by more than 0\.05; but v1 no longer serves as the champion, so no run starts for it$/);
    expect(last.measured).toMatchObject({ retired: true, live: { labeled: 600 } });
    // The same windows of the serving champion do fire.
    expect(feed(policy(), [...warm, ...drop.map((w) => ({ ...w, retired: false }))]).evaluations.some((e) => e.fired)).toBe(true);
    expect(state.windows).toBe(8);
  });

  it('warms up on the first minLabeled labelled predictions, then stays quiet while quality holds', () => {
    // 30 windows at accuracy 0.76 after a warm-up at 0.77: no drop, never fires.
    const windows = [accWindow(0, 100, 77), accWindow(1, 100, 78), accWindow(2, 100, 76), ...Array.from({ length: 30 }, (_, i) => accWindow(3 + i, 100, 74 + (i % 5)))];
    const { evaluations, state } = feed(policy(), windows);
    expect(evaluations[0].reason).toBe('v1: warming up: 100 of 300 labeled predictions for its live reference (accuracy so far 0.7700)');
    expect(evaluations[2].reason).toBe('v1: reference set: live accuracy 0.7700 on its first 300 labeled predictions; later windows are tested against it');
    expect(evaluations.filter((e) => e.fired)).toEqual([]);
    const last = evaluations.at(-1);
    expect(last?.reason).toMatch(/^v1: live accuracy 0\.7600 on 3000 labeled predictions vs its live reference 0\.7700 \(its first 300 labeled predictions\): worse by 0\.0100 \(one-sided 95 % bounds of the drop \[-?\d\.\d{4}, \d\.\d{4}\]\); always-valid p 1\.0000 > 0\.05 — no evidence of a drop beyond 0\.05$/);
    expect(last?.measured).toMatchObject({ version: 'v1', labeled: 100, metric: 'accuracy', reference: { source: 'live', value: 0.77, labeled: 300 }, test: 'sequential', live: { value: expect.closeTo(0.76, 12), labeled: 3000 }, looks: 30 });
    expect(last?.thresholds).toEqual({ metric: 'accuracy', maxDrop: 0.05, minLabeled: 300, reference: 'live', alpha: 0.05 });
    expect(state.test?.reference).toMatchObject({ n: 300, mean: 0.77 });
    // Plain JSON: the state survives the database.
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('fires on a real drop, with the reference, the running estimate, the bounds, n and the p-value as evidence', () => {
    const warm = [accWindow(0, 150, 120), accWindow(1, 150, 120)];
    const drop = Array.from({ length: 6 }, (_, i) => accWindow(2 + i, 100, 60));
    const { evaluations } = feed(policy(), [...warm, ...drop]);
    const firstFired = evaluations.findIndex((e) => e.fired);
    expect(firstFired).toBeGreaterThan(2);
    const e = evaluations[firstFired];
    expect(e.reason).toMatch(/^v1: live accuracy 0\.6000 on \d+ labeled predictions vs its live reference 0\.8000 \(its first 300 labeled predictions\): worse by 0\.2000 \(one-sided 95 % bounds of the drop \[0\.\d{4}, 0\.\d{4}\]\); always-valid p [\d.e-]+ ≤ 0\.05 — performance dropped by more than 0\.05$/);
    const m = e.measured as { lower: number; upper: number; pValue: number; drop: number; live: { labeled: number } };
    expect(m.lower).toBeGreaterThan(0.05);
    expect(m.upper).toBeGreaterThan(m.lower);
    expect(m.pValue).toBeLessThanOrEqual(0.05);
    expect(m.drop).toBeCloseTo(0.2, 12);
    // Once established, the drop stays established on later windows with labels.
    expect(evaluations.slice(firstFired).every((x) => x.fired)).toBe(true);
  });

  it('says honestly that a window has no labels yet, in every phase', () => {
    const windows = [accWindow(0, 0, 0), accWindow(1, 300, 240), accWindow(2, 0, 0), accWindow(3, 200, 160), accWindow(4, 0, 0)];
    const { evaluations } = feed(policy(), windows);
    expect(evaluations[0].reason).toBe('v1: no labeled predictions in this window yet; warming up: 0 of 300 labeled predictions for its live reference (accuracy so far n/a)');
    expect(evaluations[2].reason).toBe('v1: no labeled predictions in this window yet; fewer than 2 rows on the candidate side: no test yet');
    expect(evaluations[4].reason).toMatch(/^v1: no labeled predictions in this window yet; the test stands at live accuracy 0\.8000 on 200 labeled predictions vs its live reference 0\.8000/);
    expect(evaluations.every((e) => !e.reason.includes('only 0'))).toBe(true);
    expect(evaluations.some((e) => e.fired)).toBe(false);
  });

  it('counts a window once, and starts afresh when the policy changes', () => {
    const first = feed(policy(), [accWindow(0, 300, 240), accWindow(1, 100, 80)]);
    const again = evaluatePerformance(policy(), first.state, accWindow(1, 100, 80), higher);
    expect(again.evaluation.reason).toBe(`v1: the window ending ${end(1)} was already counted`);
    expect(again.state).toBe(first.state);
    const changed = evaluatePerformance(policy({ maxDrop: 0.1 }), first.state, accWindow(2, 100, 80), higher);
    expect(changed.evaluation.reason).toMatch(/^v1: warming up: 100 of 300/);
  });
});

describe('performance policy: declared and evaluation references, other metrics', () => {
  it('tests against a declared value once minLabeled rows are in', () => {
    const p = policy({ reference: { value: 0.9 }, minLabeled: 200 });
    const { evaluations } = feed(p, [accWindow(0, 100, 72), accWindow(1, 100, 70), accWindow(2, 100, 71)]);
    expect(evaluations[0].reason).toBe('v1: 100 of 200 labeled predictions before the first test against the declared accuracy 0.9000');
    expect(evaluations[1]).toMatchObject({ fired: true, measured: { reference: { source: 'declared', value: 0.9 }, live: { labeled: 200 } } });
  });

  it('keeps the evaluation’s metric as an option, and says when there is none', () => {
    const p = policy({ reference: 'evaluation', minLabeled: 100 });
    expect(evaluatePerformance(p, undefined, accWindow(0, 100, 70), higher).evaluation.reason).toBe('v1: no accuracy from its evaluation to compare with (reference: evaluation)');
    const r = evaluatePerformance(p, undefined, accWindow(0, 400, 260), { ...higher, evaluationValue: 0.85 });
    expect(r.evaluation).toMatchObject({ fired: true, measured: { reference: { source: 'evaluation', value: 0.85 } } });
    expect(r.evaluation.reason).toContain('vs 0.8500 at evaluation: worse by 0.2000');
  });

  it('log loss from per-row sums (lower is better); a window without them is not counted', () => {
    const p = policy({ metric: 'logLoss', maxDrop: 0.05, minLabeled: 200 });
    const ll = (i: number, n: number, mean: number, sd: number, sums = true): PerformanceWindow => ({
      version: 'v1',
      windowEnd: end(i),
      labeled: n,
      metrics: { logLoss: mean },
      rowSums: sums ? { logLoss: { sum: mean * n, sumSquares: n * (sd * sd + mean * mean) } } : {},
    });
    const { evaluations } = feed(p, [ll(0, 200, 0.45, 0.5), ll(1, 300, 0.8, 0.6), ll(2, 300, 0.8, 0.6, false)], { lowerIsBetter: true, business: null });
    expect(evaluations[1]).toMatchObject({ fired: true, measured: { drop: expect.closeTo(0.35, 12) } });
    expect(evaluations[2].reason).toBe('v1: 300 labeled predictions, but the window carries no per-row sums of logLoss (sent by deployers since row_sums was added): not counted');
  });

  it('AUC is not a mean of per-row values: a pooled point comparison, said so', () => {
    const p = policy({ metric: 'auc', minLabeled: 200 });
    const auc = (i: number, n: number, v: number): PerformanceWindow => ({ version: 'v1', windowEnd: end(i), labeled: n, metrics: { auc: v }, rowSums: {} });
    const { evaluations, state } = feed(p, [auc(0, 200, 0.8), auc(1, 100, 0.76), auc(2, 100, 0.7), auc(3, 100, 0.6)]);
    expect(evaluations[1].reason).toBe('v1: 100 of 200 labeled predictions before comparing with its live reference 0.8000 (its first 200 labeled predictions) (auc is not a mean of per-row values: compared as a point, without a sequential test)');
    // Pooled over the three windows since the reference: (0.76 + 0.70 + 0.60) / 3 = 0.6867.
    expect(evaluations[3]).toMatchObject({ fired: true, measured: { test: 'point', drop: expect.closeTo(0.8 - 2.06 / 3, 12) } });
    expect(performanceSummary(p, { version: 'v1', state })).toBe(
      'fires when live auc from feedback is worse than its live reference (its first 200 labeled predictions) by more than 0.05, (auc is not a mean of per-row values: compared as a point); v1: reference 0.8000, live 0.6867 on 300 labeled predictions',
    );
  });

  it('explains where the test stands', () => {
    const p = policy();
    expect(performanceSummary(p, undefined)).toBe('fires when live accuracy from feedback is worse than its live reference (its first 300 labeled predictions) by more than 0.05, by an always-valid sequential test at level 0.05; no window yet');
    const { state } = feed(p, [accWindow(0, 300, 240), accWindow(1, 100, 78)]);
    expect(performanceSummary(p, { version: 'v1', state })).toMatch(/; v1: 100 labeled predictions since the reference over 1 looks, always-valid p 1\.0000, drop bounds \[-0\.\d{4}, 0\.\d{4}\]$/);
  });
});
