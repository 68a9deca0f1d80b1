import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const spec = (label: string, model = 'model: { kind: mlp, head: regression, loss: mse }', extra = '') => `
apiVersion: refit/v1
kind: Pipeline
name: wages
schema:
  columns:
    - { name: wage, type: number, min: 0 }
    - { name: education, type: integer }
    - { name: sector, type: category }
label: ${label}
features:
  - { name: education, type: number }
${model}
${extra}`;


describe('regression head', () => {
  it('gets regression gates by default: no floor, rmse not worse than the champion', () => {
    const s = parseSpec(spec('{ column: wage }'));
    expect(s.gates.floors).toEqual({});
    expect(s.gates.champion).toEqual({ metric: 'rmse', margin: 0 });
  });

  it('accepts mae/rmse/r2 floors and comparisons, keeping a default champion rule when only floors are given', () => {
    const s = parseSpec(spec('{ column: wage }', undefined, 'gates: { floors: { rmse: 6, r2: 0.05 } }'));
    expect(s.gates.floors).toEqual({ rmse: 6, r2: 0.05 });
    expect(s.gates.champion).toEqual({ metric: 'rmse', margin: 0 });
    const t = parseSpec(spec('{ column: wage }', undefined, 'gates: { champion: [{ metric: mae, margin: 0.1 }, { metric: r2, test: better }] }'));
    expect(Array.isArray(t.gates.champion) && t.gates.champion.map((r) => r.metric)).toEqual(['mae', 'r2']);
  });

  it('refuses a positive rule, naming the field', () => {
    expect(specProblems(spec('{ column: wage, positive: { gt: 10 } }'))).toEqual([expect.stringMatching(/^label\.positive: a regression head predicts the value of 'wage'/)]);
  });

  it('refuses a non-numeric label column, naming the field', () => {
    expect(specProblems(spec('{ column: sector }'))).toEqual([expect.stringMatching(/^label\.column: 'sector' is declared category .* number or integer label/)]);
  });

  it("refuses a classifier's gate metrics and fairness on a regression head", () => {
    const p = specProblems(spec('{ column: wage }', undefined, 'gates: { floors: { accuracy: 0.6 }, champion: { metric: auc }, fairness: [{ sensitive: sector, metric: demographicParity, max: 0.1 }] }'));
    expect(p).toEqual([
      expect.stringMatching(/^gates\.floors\.accuracy: accuracy is a classifier's metric/),
      expect.stringMatching(/^gates\.champion\.metric: auc is a classifier's metric/),
      'gates.fairness: applies to a binary head only',
    ]);
  });

  it('refuses regression metrics on a binary head', () => {
    const p = specProblems(spec('{ column: wage, positive: { gt: 10 } }', 'model: { kind: logistic }', 'gates: { floors: { rmse: 3 }, champion: [{ metric: auc }, { metric: mae }] }'));
    expect(p).toEqual([
      'gates.floors.rmse: rmse applies to a regression head (model.head: regression) only',
      'gates.champion[1].metric: mae applies to a regression head (model.head: regression) only',
    ]);
  });
});
