import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mae, r2, rmse } from '@refit/ml';
import { labelsOf } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { wageRows } from '@refit/testing';
import { describe, expect, it } from 'vitest';
import { pairedEvidence } from './comparison.js';
import { judge } from './judge.js';
import { pairedRegressionBootstrap } from './regression.js';

// Real data (shared/DATA.md): the 1985 CPS wages; predictions in closed form so no training is needed.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const spec = parseSpec(readFileSync(join(root, 'examples/wage-regression.yaml'), 'utf8'));
const rows = wageRows();
const train = rows.filter((_, i) => i % 5 >= 2);
const test = rows.filter((_, i) => i % 5 < 2);
const y = labelsOf(test, spec.label, 'regression');

// Ordinary least squares of wage on education (fitted on the training rows), and the mean wage.
const [xs, ys] = [train.map((r) => Number(r.education)), train.map((r) => Number(r.wage))];
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const [mx, my] = [mean(xs), mean(ys)];
const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
const byEducation = Float64Array.from(test, (r) => my + slope * (Number(r.education) - mx));
const meanWage = new Float64Array(test.length).fill(my);

describe('judging a regression head', () => {
  it('reports mae, rmse and r2 of both models on the same rows and passes a candidate better than the champion', () => {
    // An r2 floor that education alone cannot reach.
    const strict = { ...spec, gates: { ...spec.gates, floors: { rmse: 6, mae: 4, r2: 0.5 } } };
    const e = judge({ spec: strict, head: 'regression', y, candidate: byEducation, champion: { version: 'v1', probs: meanWage }, rows: test });
    expect(e.candidate).toEqual({ mae: mae(y, byEducation), rmse: rmse(y, byEducation), r2: r2(y, byEducation) });
    expect(e.champion?.metrics).toEqual({ mae: mae(y, meanWage), rmse: rmse(y, meanWage), r2: r2(y, meanWage) });
    expect(e.candidate.r2).toBeGreaterThan(0.1);
    // Nothing to rank or calibrate: the report carries no curves.
    expect(e.curves).toBeUndefined();
    expect(e.gates.map((g) => [g.gate, g.outcome])).toEqual([
      ['floor:rmse', 'pass'],
      ['floor:mae', 'pass'],
      ['floor:r2', 'fail'],
      ['champion:rmse', 'pass'],
      ['champion:mae', 'pass'],
    ]);
    expect(e.gates[0].reason).toBe(`rmse ${e.candidate.rmse.toFixed(4)} is within the ceiling 6.0000`);
    expect(e.gates[2].reason).toBe(`r2 ${e.candidate.r2.toFixed(4)} is below the floor 0.5000`);
    // Lower is better: the gain is the champion's rmse minus the candidate's.
    expect(e.gates[3].reason).toMatch(/^rmse \d\.\d{4} vs champion v1's \d\.\d{4} on the same 214 test rows \(gain \+0\.\d{4}, 95% CI \[\+0\.\d{4}, \+0\.\d{4}\]\): not worse than the champion beyond the margin 0\.2500 \(paired bootstrap/);
    expect(e.comparisons[0].evidence.gain).toBeCloseTo(rmse(y, meanWage) - rmse(y, byEducation), 12);
    expect(e.slices.filter((s) => s.column === 'sector').reduce((n, s) => n + s.n, 0)).toBe(test.length);
    expect(e.slices[0].candidate).toEqual({ mae: expect.any(Number), rmse: expect.any(Number), r2: expect.any(Number) });
    expect(e.fairness).toEqual([]);
    expect(e.verdict).toBe('fail');
  });

  it('fails a candidate worse than the champion beyond the margin (the whole interval on the wrong side)', () => {
    const e = judge({ spec, head: 'regression', y, candidate: meanWage, champion: { version: 'v1', probs: byEducation }, rows: test });
    expect(e.gates.find((g) => g.gate === 'champion:rmse')).toMatchObject({ outcome: 'fail' });
    expect(e.gates.find((g) => g.gate === 'champion:rmse')?.reason).toMatch(/worse than the champion beyond the margin 0\.2500 \(the whole interval lies below -0\.2500; paired bootstrap/);
  });

  it('bootstraps the paired difference: zero for identical models, and a better-than test that rejects', () => {
    const same = pairedRegressionBootstrap(y, byEducation, byEducation, { metric: 'r2', resamples: 200, seed: 0, confidence: 0.95 });
    expect(same).toMatchObject({ difference: 0, lower: 0, upper: 0, standardError: 0 });
    expect(same.estimateA).toBeCloseTo(r2(y, byEducation), 12);
    const better = pairedEvidence(y, meanWage, byEducation, { metric: 'r2', test: 'better', margin: 0 }, { resamples: 500 });
    expect(better.gain).toBeCloseTo(r2(y, byEducation) - r2(y, meanWage), 12);
    expect(better.pValue).toBeLessThan(0.01);
    expect(better.method).toMatch(/^paired bootstrap/);
  });
});
