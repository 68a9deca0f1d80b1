import { describe, expect, it } from 'vitest';
import { parseSpec, SpecError } from './parse.js';

const valid = `
apiVersion: refit/v1
kind: Pipeline
name: seattle-rain
schema:
  columns:
    - { name: date, type: date }
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number }
    - { name: temp_min, type: number }
    - { name: wind, type: number }
    - { name: weather, type: category }
label: { column: precipitation, positive: { gt: 0 } }
features:
  - { name: temp_max, type: number }
  - { name: wind, type: number }
`;

function problems(text: string): string[] {
  try {
    parseSpec(text);
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('parseSpec', () => {
  it('fills defaults', () => {
    const spec = parseSpec(valid);
    expect(spec.model).toMatchObject({ kind: 'logistic', epochs: 50, seed: 42 });
    expect(spec.data.split).toEqual({ train: 0.7, validation: 0.15, test: 0.15, seed: 7 });
    expect(spec.gates.champion).toEqual({ metric: 'auc', margin: 0 });
    expect(spec.triggers).toEqual([{ kind: 'manual' }]);
  });

  it('names the bad field of a wrong enum value', () => {
    const bad = valid.slice(0, valid.lastIndexOf('{ name: wind')) + '{ name: wind, type: text }\n';
    expect(problems(bad)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^features\[1\]\.type: /)]),
    );
  });

  it('names an unknown feature column and a label used as feature', () => {
    const p = problems(valid.replace('{ name: temp_max, type: number }\n  -', '{ name: nope, type: number }\n  - { name: precipitation, type: number }\n  -'));
    expect(p).toContain("features[0].name: 'nope' is not a column of schema.columns");
    expect(p).toContain("features[1].name: 'precipitation' is the label column; a feature must not leak the label");
  });

  it('rejects unknown keys and bad splits', () => {
    const p = problems(`${valid}data: { split: { train: 0.9, validation: 0.2, test: 0.1 } }\nmodle: {}\n`);
    expect(p.some((x) => x.startsWith('data.split: train + validation + test must add up to 1'))).toBe(true);
    expect(p.some((x) => x.includes('modle'))).toBe(true);
  });

  it('reports YAML syntax errors with a position', () => {
    expect(problems('name: [unclosed')[0]).toMatch(/^\(yaml\) line \d+, column \d+/);
  });

  it('rejects a bad pipeline name', () => {
    expect(problems(valid.replace('name: seattle-rain', 'name: Seattle Rain'))[0]).toMatch(/^name: must be lower-case/);
  });
});
