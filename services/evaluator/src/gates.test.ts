import type { FairnessReport } from '@refit/ml';
import type { PipelineSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import type { PairedEvidence } from './comparison.js';
import { applyGates, verdictOf, type ComparisonResult } from './gates.js';

const gates: PipelineSpec['gates'] = { floors: { accuracy: 0.6, logLoss: 0.7 }, champion: { metric: 'auc', margin: 0.01 } };
const champion = { version: 'v1', metrics: { auc: 0.8 } };

/** Evidence of a comparison with the given gain, interval and p-value. */
function evidence(gain: number, lower: number, upper: number, pValue: number | null, over: Partial<PairedEvidence> = {}): ComparisonResult {
  return {
    evidence: { metric: 'auc', test: 'not-worse', margin: 0.01, n: 200, candidate: 0.8 + gain, champion: 0.8, gain, interval: pValue === null ? null : { lower, upper, confidence: 0.95 }, pValue, method: 'DeLong (se 0.01)', ...over },
  };
}

function fairnessReport(dp: number | null, excluded: string[] = []): FairnessReport {
  return {
    sensitive: ['gender'],
    groups: [],
    excludedGroups: excluded,
    demographicParityDifference: dp,
    demographicParityRatio: null,
    equalizedOddsDifference: dp,
    equalizedOddsRatio: null,
    equalOpportunityDifference: null,
    intervals: null,
  };
}

describe('applyGates', () => {
  it('judges a first model on its floors alone', () => {
    const r = applyGates({ gates, candidate: { accuracy: 0.72, logLoss: 0.55, auc: 0.8 } });
    expect(verdictOf(r)).toBe('pass');
    expect(r.map((g) => g.reason)).toEqual([
      'accuracy 0.7200 meets the floor 0.6000',
      'logLoss 0.5500 is within the ceiling 0.7000',
      'no champion yet: the candidate is judged on its floors alone',
    ]);
  });

  it('fails a floor, a ceiling for lower-is-better metrics, and a metric that could not be computed', () => {
    const r = applyGates({ gates: { ...gates, floors: { ...gates.floors, auc: 0.6 } }, candidate: { accuracy: 0.5, logLoss: 0.9 } });
    expect(r.filter((g) => g.outcome === 'fail').map((g) => g.gate)).toEqual(['floor:accuracy', 'floor:logLoss', 'floor:auc']);
    expect(verdictOf(r)).toBe('fail');
  });

  it('passes a comparison only when its test rejects "worse" at alpha, and says what was measured', () => {
    const [, , g] = applyGates({ gates, candidate: { accuracy: 0.7, logLoss: 0.5 }, champion, comparisons: [evidence(0.02, 0.001, 0.04, 0.001)] });
    expect(g).toMatchObject({ gate: 'champion:auc', outcome: 'pass' });
    expect(g.reason).toBe(
      "auc 0.8200 vs champion v1's 0.8000 on the same 200 test rows (gain +0.0200, 95% CI [+0.0010, +0.0400]): not worse than the champion beyond the margin 0.0100 (DeLong (se 0.01), p=0.0010 ≤ alpha 0.05)",
    );
  });

  it('is inconclusive when the interval straddles the bound, and fails when it lies wholly below it', () => {
    const unsure = applyGates({ gates, candidate: { accuracy: 0.7, logLoss: 0.5 }, champion, comparisons: [evidence(0.01, -0.03, 0.05, 0.2)] });
    expect(unsure.at(-1)?.outcome).toBe('inconclusive');
    expect(unsure.at(-1)?.reason).toMatch(/: not shown not worse than the champion beyond the margin 0\.0100 \(DeLong \(se 0\.01\), p=0\.20 > alpha 0\.05\)$/);
    expect(verdictOf(unsure)).toBe('inconclusive');
    const worse = applyGates({ gates, candidate: { accuracy: 0.7, logLoss: 0.5 }, champion, comparisons: [evidence(-0.05, -0.08, -0.02, 0.99)] });
    expect(worse.at(-1)).toMatchObject({ outcome: 'fail' });
    expect(worse.at(-1)?.reason).toMatch(/worse than the champion beyond the margin 0\.0100 \(the whole interval lies below -0\.0100; /);
  });

  it('is inconclusive, never pass, with too few rows', () => {
    const r = applyGates({ gates, candidate: { accuracy: 0.7, logLoss: 0.5 }, champion, comparisons: [evidence(0.1, 0, 0, null, { n: 12 })] });
    expect(r.at(-1)?.outcome).toBe('inconclusive');
    expect(r.at(-1)?.reason).toBe("auc: only 12 paired test rows (or a single class), too few to compare with champion v1: no evidence either way");
  });

  it('applies Holm across every comparison: p=0.03 alone passes, with a second comparison at p=0.04 neither does', () => {
    const alone = applyGates({ gates, candidate: {}, champion, comparisons: [evidence(0.02, 0.001, 0.04, 0.03)] });
    expect(alone.at(-1)?.outcome).toBe('pass');
    const two = applyGates({
      gates: { ...gates, floors: {} },
      candidate: {},
      champion,
      comparisons: [evidence(0.02, 0.001, 0.04, 0.03), { slice: { column: 'location', value: 'Seattle' }, evidence: evidence(0.02, -0.001, 0.04, 0.04).evidence }],
    });
    expect(two.map((g) => g.outcome)).toEqual(['inconclusive', 'inconclusive']);
    expect(two[0].reason).toContain('Holm-adjusted over 2 comparisons p=0.060');
    expect(two[1].gate).toBe('champion:auc@location=Seattle');
    expect(two[1].reason).toMatch(/^auc in slice location=Seattle 0\.8200 vs champion v1's/);
  });

  it('holds fairness limits, against the champion within a tolerance, and names groups too small to judge', () => {
    const rule = { sensitive: 'gender', metric: 'demographicParity' as const, max: 0.15, tolerance: 0.02 };
    const g = { floors: {}, champion: gates.champion, fairness: [rule] };
    const over = applyGates({ gates: g, candidate: {}, fairness: [{ rule, candidate: fairnessReport(0.26) }] });
    expect(over.at(-1)).toMatchObject({ gate: 'fairness:demographicParity:gender', outcome: 'fail', reason: 'demographic parity difference by gender 0.2600 exceeds the limit 0.1500' });
    const ok = applyGates({ gates: g, candidate: {}, champion, comparisons: [], fairness: [{ rule, candidate: fairnessReport(0.1, ['other']), champion: fairnessReport(0.09) }] });
    expect(ok.at(-1)).toMatchObject({
      outcome: 'pass',
      reason: "demographic parity difference by gender 0.1000 is within the limit 0.1500 and not worse than champion v1's 0.0900 beyond the tolerance 0.0200; groups too small to judge: other",
    });
    const drift = applyGates({ gates: g, candidate: {}, champion, comparisons: [], fairness: [{ rule, candidate: fairnessReport(0.14), champion: fairnessReport(0.05) }] });
    expect(drift.at(-1)?.outcome).toBe('fail');
    expect(drift.at(-1)?.reason).toContain("worse than champion v1's 0.0500 beyond the tolerance 0.0200");
    const unknown = applyGates({ gates: g, candidate: {}, fairness: [{ rule, candidate: fairnessReport(null, ['a', 'b']) }] });
    expect(unknown.at(-1)?.outcome).toBe('inconclusive');
  });
});
