import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTransform, fitTransform, initBackend, labelsOf, trainModel, type RawRow } from '@refit/modeling';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { wageRows, weatherRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { judge } from './judge.js';

// Real data only (shared/DATA.md): the 1985 CPS wages and NOAA Seattle weather, from npm packages.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** Trains a seeded model on `train` with the spec's features and scores `test`. */
async function scores(spec: PipelineSpec, features: PipelineSpec['features'], train: RawRow[], test: RawRow[]): Promise<Float32Array> {
  const transform = fitTransform(train, features);
  const tr = applyTransform(transform, train);
  // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
  const { model } = await trainModel({ X: tr.X, y: labelsOf(train, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
  const te = applyTransform(transform, test);
  try {
    return model.predict(te.X, te.n);
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  await initBackend({ prefer: 'auto' });
});

describe('judge on the 1985 wage data (fairness gates)', () => {
  const spec = parseSpec(readFileSync(join(root, 'examples/wage-fairness.yaml'), 'utf8'));
  const rows = wageRows();
  // Every fifth row pair is test (40 %): the file is ordered by occupation, so each test slice sees every occupation.
  const test = rows.filter((_, i) => i % 5 < 2);
  const train = rows.filter((_, i) => i % 5 >= 2);
  const y = labelsOf(test, spec.label);
  const withSensitive = [...spec.features, { name: 'gender', type: 'category' as const }, { name: 'race', type: 'category' as const }];

  it('blocks the model that uses gender and race at the 0.15 limit and passes the one without them', async () => {
    expect(rows).toHaveLength(534);
    const unfair = judge({ spec, y, candidate: await scores(spec, withSensitive, train, test), rows: test });
    const fair = judge({ spec, y, candidate: await scores(spec, spec.features, train, test), rows: test });

    const dp = (e: typeof fair) => e.fairness.find((f) => f.sensitive === 'gender')?.candidate.demographicParityDifference ?? Number.NaN;
    expect(dp(unfair)).toBeGreaterThan(0.15);
    expect(dp(fair)).toBeLessThan(0.15);
    expect(unfair.verdict).toBe('fail');
    expect(unfair.gates.find((g) => g.gate === 'fairness:demographicParity:gender')).toMatchObject({ outcome: 'fail' });
    expect(unfair.gates.find((g) => g.gate === 'fairness:demographicParity:gender')?.reason).toMatch(/^demographic parity difference by gender 0\.\d{4} \(95% CI \[0\.\d{4}, 0\.\d{4}\]\) exceeds the limit 0\.1500$/);
    expect(fair.verdict).toBe('pass');
    expect(fair.gates.filter((g) => g.gate.startsWith('fairness:')).map((g) => g.outcome)).toEqual(['pass', 'pass']);

    // The Hispanic group (27 people in all) is reported with its rates but not judged.
    const race = fair.fairness.find((f) => f.sensitive === 'race')?.candidate;
    expect(race?.excludedGroups).toContain('hispanic');
    expect(race?.groups.find((g) => g.group === 'hispanic')).toMatchObject({ belowMinSize: true });
    // Slices are reported with the full metric suite; small ones are flagged.
    expect(fair.slices.filter((s) => s.column === 'sector').map((s) => s.value).sort()).toEqual(['construction', 'manufacturing', 'other']);
    expect(fair.slices.every((s) => s.candidate.accuracy >= 0 && 'ece' in s.candidate)).toBe(true);
  });

  it('a fairer candidate may not lose the fairness of the champion beyond the tolerance', async () => {
    const fairProbs = await scores(spec, spec.features, train, test);
    const unfairProbs = await scores(spec, withSensitive, train, test);
    // The unfair model is the champion here: the fair one improves fairness and is judged on it.
    const e = judge({ spec, y, candidate: fairProbs, champion: { version: 'v1', probs: unfairProbs }, rows: test });
    expect(e.gates.find((g) => g.gate === 'fairness:demographicParity:gender')?.reason).toMatch(/is within the limit 0\.1500 and not worse than champion v1's 0\.\d{4} beyond the tolerance 0\.0200/);
    expect(e.fairness.find((f) => f.sensitive === 'gender')?.champion?.demographicParityDifference).toBeGreaterThan(0.15);
  });
});

describe('judge on Seattle weather (small samples)', () => {
  const spec = parseSpec(readFileSync(join(root, 'examples/weather-rain.yaml'), 'utf8'));
  const between = (from: string, to: string) => weatherRows('Seattle', from, to);

  it('a better-looking candidate on 40 rows is inconclusive, not pass; on the full year the same gates can decide', async () => {
    const year = between('2014-01-01', '2015-01-01');
    const earlier = between('2013-01-01', '2014-01-01');
    const test = between('2015-01-01', '2016-01-01');
    const few = test.filter((_, i) => i % 9 === 0).slice(0, 40);
    const small = judge({
      spec,
      y: labelsOf(few, spec.label),
      candidate: await scores(spec, spec.features, earlier, few),
      champion: { version: 'v1', probs: await scores(spec, spec.features, year, few) },
      rows: few,
    });
    expect(small.rowsTest).toBe(40);
    expect(small.candidate.logLoss).toBeLessThan(small.champion?.metrics.logLoss ?? 0);
    expect(small.verdict).toBe('inconclusive');
    expect(small.gates.filter((g) => g.gate.startsWith('champion:')).some((g) => g.outcome === 'inconclusive')).toBe(true);

    // The recent-window holdout: both models on the test rows of the last 90 days.
    const withHoldout = { ...spec, evaluation: { ...spec.evaluation, holdout: { column: 'date', lastDays: 90 } } };
    const full = judge({
      spec: withHoldout,
      y: labelsOf(test, spec.label),
      candidate: await scores(spec, spec.features, year, test),
      champion: { version: 'v1', probs: await scores(spec, spec.features, earlier, test) },
      rows: test,
    });
    expect(full.holdout).toMatchObject({ column: 'date', from: '2015-10-02', to: '2015-12-31', n: 90 });
    expect(full.holdout?.comparison?.n).toBe(90);
    expect(full.comparisons.every((c) => c.evidence.n === 365)).toBe(true);
  });
});
