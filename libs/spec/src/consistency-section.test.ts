import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const wage = readFileSync(join(examples, 'wage-fairness.yaml'), 'utf8');
const withConsistency = (evaluation: string, gate: string, text = wage) =>
  text.replace('  minGroupSize: 30\n', `  minGroupSize: 30\n${evaluation}`).replace('\ngates:\n', `\ngates:\n${gate}`);

describe('individual fairness (consistency) in the spec', () => {
  it('reads the evaluation settings and the gate with their defaults; both are optional', () => {
    const spec = parseSpec(withConsistency('  consistency: {}\n', '  consistency: { min: 0.8 }\n'));
    expect(spec.evaluation.consistency).toEqual({ k: 5 });
    expect(spec.gates.consistency).toEqual({ min: 0.8, tolerance: 0.02 });
    const declared = parseSpec(withConsistency('  consistency: { k: 10, exclude: [gender, married] }\n', '  consistency: { min: 0.7, tolerance: 0.05 }\n'));
    expect(declared.evaluation.consistency).toEqual({ k: 10, exclude: ['gender', 'married'] });
    expect(declared.gates.consistency).toEqual({ min: 0.7, tolerance: 0.05 });
    const plain = parseSpec(wage);
    expect(plain.evaluation.consistency).toBeUndefined();
    expect(plain.gates.consistency).toBeUndefined();
  });

  it('names bad values, unknown excluded columns and a regression head', () => {
    expect(specProblems(withConsistency('  consistency: { k: 0 }\n', '')).some((x) => x.startsWith('evaluation.consistency.k:'))).toBe(true);
    expect(specProblems(withConsistency('', '  consistency: { min: 1.5 }\n')).some((x) => x.startsWith('gates.consistency.min:'))).toBe(true);
    expect(specProblems(withConsistency('', '  consistency: { max: 0.2 }\n')).some((x) => x.startsWith('gates.consistency'))).toBe(true);
    expect(specProblems(withConsistency('  consistency: { exclude: [gender, religion] }\n', ''))).toEqual(["evaluation.consistency.exclude[1]: 'religion' is not a column of schema.columns"]);
    const regression = readFileSync(join(examples, 'wage-regression.yaml'), 'utf8');
    expect(specProblems(withConsistency('  consistency: { k: 5 }\n', '  consistency: { min: 0.8 }\n', regression.replace('\nevaluation:\n', '\nevaluation:\n  minGroupSize: 30\n')))).toEqual([
      'evaluation.consistency: applies to a binary head only',
      'gates.consistency: applies to a binary head only',
    ]);
  });
});
