import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const rain = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
const withBatch = (batch: string): string => rain.replace('  batch: { onProblem: reject }', `  batch: { onProblem: reject, ${batch} }`);

describe('schema.batch label checks', () => {
  it('default to flagging a label shift beyond 0.5 (or 2 ranges) and rejecting labels the champion scores at or below AUC 0.4', () => {
    expect(parseSpec(rain).schema.batch).toMatchObject({ maxLabelShift: 0.5, maxLabelShiftIqr: 2, onLabelShift: 'flag', labelInversionAuc: 0.4, onLabelInversion: 'reject' });
  });

  it('take other limits and policies', () => {
    const spec = parseSpec(withBatch('maxLabelShift: 0.2, maxLabelShiftIqr: 0.5, onLabelShift: reject, labelInversionAuc: 0.3, onLabelInversion: flag'));
    expect(spec.schema.batch).toMatchObject({ maxLabelShift: 0.2, maxLabelShiftIqr: 0.5, onLabelShift: 'reject', labelInversionAuc: 0.3, onLabelInversion: 'flag' });
  });

  it('refuse bad values, naming the field', () => {
    const problems = specProblems(withBatch('maxLabelShift: 0, maxLabelShiftIqr: -1, onLabelShift: drop, labelInversionAuc: 0.5, onLabelInversion: ignore'));
    expect(problems).toEqual([
      expect.stringMatching(/^schema\.batch\.maxLabelShift: .*>0/),
      expect.stringMatching(/^schema\.batch\.maxLabelShiftIqr: .*>0/),
      expect.stringMatching(/^schema\.batch\.onLabelShift: .*"flag"\|"reject"/),
      expect.stringMatching(/^schema\.batch\.labelInversionAuc: .*<0\.5/),
      expect.stringMatching(/^schema\.batch\.onLabelInversion: .*"flag"\|"reject"/),
    ]);
    expect(specProblems(withBatch('maxLabelShift: 1.5'))).toEqual([expect.stringMatching(/^schema\.batch\.maxLabelShift: .*<=1/)]);
  });
});
