import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minCostThreshold } from '@refit/ml';
import { applyTransform, fitTransform, initBackend, labelsOf, trainModel } from '@refit/modeling';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { wageRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { businessEvidence, businessMetricsOf } from './business.js';
import { judge } from './judge.js';

// Real data only (shared/DATA.md): the 1985 CPS wages, from an npm package.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const withCosts = (spec: PipelineSpec, fn: number, gates: Partial<PipelineSpec['gates']>): PipelineSpec => ({
  ...spec,
  business: { ...(spec.business as NonNullable<PipelineSpec['business']>), costs: { fp: 1, fn, tp: 0, tn: 0 } },
  gates: { ...spec.gates, fairness: undefined, ...gates },
});

describe('business metrics on hand-checked rows', () => {
  const spec = parseSpec(readFileSync(join(root, 'examples/wage-cost.yaml'), 'utf8'));
  // Four rows at threshold 0.5: tp, fp, fn, tn. Cost = 1 (fp) + 5 (fn) = 6.
  const y = [1, 0, 1, 0];
  const probs = [0.9, 0.6, 0.3, 0.1];
  const rows = [{ education: 10 }, { education: 12 }, { education: 14 }, { education: 16 }];

  it('evaluates each expression at the model’s own threshold', () => {
    expect(businessMetricsOf(spec, y, { probs }, rows)).toEqual({ expectedCostPer1000: (1000 * 6) / 4, revenue: 2 * 10 - 1 });
    // At 0.25 the fn row becomes a tp: cost = 1 (the fp), revenue = 2·(10 + 14) − 1.
    expect(businessMetricsOf(spec, y, { probs, threshold: 0.25 }, rows)).toEqual({ expectedCostPer1000: (1000 * 1) / 4, revenue: 2 * 24 - 1 });
    // A missing column value makes the metric undefined, so it is left out (a floor on it then fails).
    expect(businessMetricsOf(spec, y, { probs }, [rows[0], {}, rows[2], rows[3]])).toEqual({ expectedCostPer1000: 1500 });
  });
});

describe('business metrics on the 1985 wage data', () => {
  const spec = parseSpec(readFileSync(join(root, 'examples/wage-cost.yaml'), 'utf8'));
  const rows = wageRows();
  // The file is ordered by occupation: cut splits by row index modulo 10 so each sees every occupation.
  const train = rows.filter((_, i) => i % 10 < 5);
  const validation = rows.filter((_, i) => i % 10 >= 5 && i % 10 < 7);
  const test = rows.filter((_, i) => i % 10 >= 7);
  const yv = labelsOf(validation, spec.label);
  const yt = labelsOf(test, spec.label);
  let sv: Float32Array;
  let st: Float32Array;

  beforeAll(async () => {
    await initBackend({ prefer: 'auto' });
    const t = fitTransform(train, spec.features);
    const tr = applyTransform(t, train);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const { model } = await trainModel({ X: tr.X, y: labelsOf(train, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
    try {
      sv = model.predict(applyTransform(t, validation).X, validation.length);
      st = model.predict(applyTransform(t, test).X, test.length);
    } finally {
      model.dispose();
    }
  });

  it('expensive false negatives lower the chosen threshold and turn the gates in the candidate’s favour', () => {
    const symmetric = minCostThreshold(yv, sv, { fp: 1, fn: 1, tp: 0, tn: 0 }).threshold;
    const fnHeavy = minCostThreshold(yv, sv, { fp: 1, fn: 5, tp: 0, tn: 0 }).threshold;
    expect(fnHeavy).toBeLessThan(symmetric - 0.1);

    // The champion is the same model deciding at 0.5 (trained before the spec had costs); the
    // candidate decides at the threshold chosen on the validation split. The gate asks for a
    // significantly lower expected cost, and caps it at 600 per 1,000.
    const gates = { floors: { expectedCostPer1000: 600 }, champion: [{ metric: 'expectedCostPer1000', margin: 0, test: 'better' as const }] };
    const judged = (fn: number, threshold: number) =>
      judge({ spec: withCosts(spec, fn, gates), y: yt, candidate: st, candidateThreshold: threshold, champion: { version: 'v1', probs: st, threshold: 0.5 }, rows: test });

    const heavy = judged(5, fnHeavy);
    const cost = (e: ReturnType<typeof judge>) => [e.candidate.expectedCostPer1000, e.champion?.metrics.expectedCostPer1000 ?? Number.NaN];
    const [candidateCost, championCost] = cost(heavy);
    expect(candidateCost).toBeLessThan(championCost);
    expect(heavy.champion?.metrics.expectedCostPer1000).toBeGreaterThan(600);
    expect(heavy.gates.find((g) => g.gate === 'floor:expectedCostPer1000')).toMatchObject({ outcome: 'pass' });
    expect(heavy.gates.find((g) => g.gate === 'champion:expectedCostPer1000')).toMatchObject({ outcome: 'pass' });
    expect(heavy.verdict).toBe('pass');
    expect(heavy.thresholds).toEqual({ candidate: fnHeavy, champion: 0.5 });

    // With symmetric costs the chosen threshold stays near 0.5 and saves nothing that can be shown.
    const sym = judged(1, symmetric);
    expect(sym.gates.find((g) => g.gate === 'champion:expectedCostPer1000')?.outcome).not.toBe('pass');
    expect(sym.verdict).not.toBe('pass');

    // The same candidate at the default threshold (no threshold stored) is above the ceiling.
    const unthresholded = judge({ spec: withCosts(spec, 5, gates), y: yt, candidate: st, rows: test });
    expect(unthresholded.gates.find((g) => g.gate === 'floor:expectedCostPer1000')).toMatchObject({ outcome: 'fail' });
  });

  it('judges decision metrics, accuracy comparisons and group rates at each model’s own threshold', () => {
    const fnHeavy = minCostThreshold(yv, sv, { fp: 1, fn: 5, tp: 0, tn: 0 }).threshold;
    const acc = (t: number) => yt.reduce((k, y, i) => k + ((st[i] >= t ? 1 : 0) === y ? 1 : 0), 0) / yt.length;
    const positiveRate = (t: number, gender: string) => {
      const idx = test.flatMap((r, i) => (r.gender === gender ? [i] : []));
      return idx.filter((i) => st[i] >= t).length / idx.length;
    };
    const gates = { floors: {}, champion: [{ metric: 'accuracy' as const, margin: 0.5 }], fairness: [{ sensitive: 'gender', metric: 'demographicParity' as const, max: 1, tolerance: 1 }] };
    const e = judge({ spec: { ...withCosts(spec, 5, {}), gates: { ...spec.gates, ...gates } }, y: yt, candidate: st, candidateThreshold: fnHeavy, champion: { version: 'v1', probs: st, threshold: 0.5 }, rows: test });
    expect(acc(fnHeavy)).not.toBeCloseTo(acc(0.5), 3);
    expect(e.candidate.accuracy).toBeCloseTo(acc(fnHeavy), 12);
    expect(e.champion?.metrics.accuracy).toBeCloseTo(acc(0.5), 12);
    const accuracy = e.comparisons.find((c) => c.evidence.metric === 'accuracy')?.evidence;
    expect(accuracy?.candidate).toBeCloseTo(acc(fnHeavy), 12);
    expect(accuracy?.champion).toBeCloseTo(acc(0.5), 12);
    const byGender = e.fairness.find((f) => f.sensitive === 'gender');
    expect(byGender?.candidate.groups.find((g) => g.group === 'female')?.selectionRate).toBeCloseTo(positiveRate(fnHeavy, 'female'), 12);
    expect(byGender?.champion?.groups.find((g) => g.group === 'female')?.selectionRate).toBeCloseTo(positiveRate(0.5, 'female'), 12);
  });

  it('orients a comparison by the metric’s goal: a gain is the candidate being better', () => {
    const fnHeavy = minCostThreshold(yv, sv, { fp: 1, fn: 5, tp: 0, tn: 0 }).threshold;
    const s = withCosts(spec, 5, {});
    const opts = { minSamples: 30, resamples: 500, seed: 0 };
    const cost = businessEvidence(s, { metric: 'expectedCostPer1000', margin: 0, test: 'better' }, yt, { probs: st, threshold: 0.5 }, { probs: st, threshold: fnHeavy }, test, opts);
    expect(cost.candidate).toBeLessThan(cost.champion);
    expect(cost.gain).toBeCloseTo(cost.champion - cost.candidate, 9);
    expect(cost.interval?.lower).toBeGreaterThan(0);
    expect(cost.pValue).toBeLessThan(0.01);
    // Revenue is maximized: reaching more high earners raises it, and the gain keeps its sign.
    const revenue = businessEvidence(s, { metric: 'revenue', margin: 0, test: 'better' }, yt, { probs: st, threshold: 0.5 }, { probs: st, threshold: fnHeavy }, test, opts);
    expect(revenue.gain).toBeCloseTo(revenue.candidate - revenue.champion, 9);
    // Too few rows: no evidence either way.
    expect(businessEvidence(s, { metric: 'revenue', margin: 0, test: 'better' }, yt.slice(0, 10), { probs: st.slice(0, 10) }, { probs: st.slice(0, 10) }, test, opts).pValue).toBeNull();
  });
});
