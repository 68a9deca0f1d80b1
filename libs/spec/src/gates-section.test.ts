import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const wage = readFileSync(join(examples, 'wage-fairness.yaml'), 'utf8');


describe('gates and evaluation sections', () => {
  it('reads champion rules as one rule or a list, fairness limits with their tolerance, and evaluation defaults', () => {
    const rain = parseSpec(readFileSync(join(examples, 'weather-rain.yaml'), 'utf8'));
    expect(rain.gates.champion).toEqual([
      { metric: 'auc', margin: 0.05 },
      { metric: 'logLoss', margin: 0, test: 'better' },
    ]);
    expect(rain.evaluation).toEqual({ slices: [], sensitive: [], minGroupSize: 30, minSamples: 30, resamples: 1000 });
    const spec = parseSpec(wage);
    expect(spec.gates.fairness?.[0]).toEqual({ sensitive: 'gender', metric: 'demographicParity', max: 0.15, tolerance: 0.02 });
    expect(spec.evaluation).toMatchObject({ sensitive: ['gender', 'race'], slices: ['sector'], minGroupSize: 30 });
  });

  it('names unknown columns and bad values', () => {
    // Field errors first; the cross-section checks (columns exist) run on a spec whose fields are valid.
    const badFields = specProblems(
      wage.replace('{ sensitive: gender, metric: demographicParity, max: 0.15 }', '{ sensitive: gender, metric: demographicParity, max: 1.5 }').replace('champion: { metric: auc, margin: 0.03 }', 'champion: { metric: f1, margin: 0.03 }'),
    );
    expect(badFields.some((x) => x.startsWith('gates.fairness[0].max:'))).toBe(true);
    expect(badFields.some((x) => x.startsWith('gates.champion'))).toBe(true);
    const badColumns = specProblems(wage.replace('sensitive: [gender, race]', 'sensitive: [gender, religion]').replace('{ sensitive: gender, metric: equalizedOdds', '{ sensitive: sex, metric: equalizedOdds'));
    expect(badColumns).toEqual(["evaluation.sensitive[1]: 'religion' is not a column of schema.columns", "gates.fairness[1].sensitive: 'sex' is not a column of schema.columns"]);
    expect(specProblems(wage.replace('minGroupSize: 30', 'minGroupSize: 0')).some((x) => x.startsWith('evaluation.minGroupSize:'))).toBe(true);
  });
});
