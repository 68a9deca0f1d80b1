import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const base = `
apiVersion: refit/v1
kind: Pipeline
name: seattle-rain
schema:
  columns:
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number }
    - { name: wind, type: number }
label: { column: precipitation, positive: { gt: 0 } }
features:
  - { name: temp_max, type: number }
  - { name: wind, type: number }
`;


describe('model section', () => {
  it('takes a solver, and refuses newton where it does not apply', () => {
    expect(parseSpec(`${base}model: { kind: logistic, solver: newton }`).model.solver).toBe('newton');
    expect(parseSpec(`${base}model: { kind: mlp, solver: adam }`).model.solver).toBe('adam');
    expect(parseSpec(base).model.solver).toBeUndefined();
    expect(() => parseSpec(`${base}model: { kind: mlp, solver: newton }`)).toThrow(/model\.solver.*newton fits a logistic model.*not an mlp; use adam or auto/s);
    expect(() => parseSpec(`${base}model: { kind: logistic, solver: lbfgs }`)).toThrow(/model\.solver/);
  });

  it('accepts a search, early stopping, a budget, class weights and a warm start', () => {
    const spec = parseSpec(`${base}model:
  kind: mlp
  dropout: 0.2
  classWeight: balanced
  earlyStopping: { patience: 5 }
  budget: { seconds: 120 }
  search:
    strategy: halving
    trials: 27
    space:
      learningRate: { logRange: [0.001, 0.1] }
      hidden: { choices: [[8], [16, 8]] }
      dropout: { range: [0, 0.5] }
`);
    expect(spec.model).toMatchObject({ kind: 'mlp', dropout: 0.2, classWeight: 'balanced', earlyStopping: { patience: 5 }, budget: { seconds: 120 } });
    expect(spec.model.search?.space.learningRate).toEqual({ logRange: [0.001, 0.1] });
    expect(parseSpec(`${base.replace(', positive: { gt: 0 }', '')}model: { kind: logistic, head: regression, loss: mae, warmStart: champion }`).model).toMatchObject({ head: 'regression', loss: 'mae', warmStart: 'champion' });
  });

  it('names the bad field', () => {
    expect(specProblems(`${base}model: { kind: mlp, search: { strategy: bayes, space: { learningRate: { choices: [0.1] } } } }`).join('\n')).toMatch(/model\.search\.strategy/);
    expect(specProblems(`${base}model: { kind: mlp, search: { strategy: random, space: { seed: { choices: [1] } } } }`).join('\n')).toMatch(/model\.search\.space/);
    expect(specProblems(`${base}model: { kind: mlp, search: { strategy: random, space: { l2: { logRange: [0, 1] } } } }`).join('\n')).toMatch(/model\.search\.space\.l2/);
    expect(specProblems(`${base}model: { kind: logistic, head: regression, loss: crossentropy }`).join('\n')).toMatch(/model\.loss/);
    expect(specProblems(`${base}model: { kind: logistic, earlyStopping: { patience: 0 } }`).join('\n')).toMatch(/model\.earlyStopping\.patience/);
    expect(specProblems(`${base}model: { kind: logistic, dropout: 1 }`).join('\n')).toMatch(/model\.dropout/);
  });
});
