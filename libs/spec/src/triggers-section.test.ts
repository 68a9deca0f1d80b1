import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const rain = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
/** The example spec with these policies under `triggers:`. */
const withTriggers = (policies: string) => rain.replace(/triggers:\n(\s+- .*\n?)+/, `triggers:\n${policies}\n`);

describe('performance policy', () => {
  it('defaults: a live warm-up reference of 500 labelled predictions, a test at level 0.05', () => {
    expect(parseSpec(withTriggers('  - { kind: performance, maxDrop: 0.05 }')).triggers[0]).toEqual({
      kind: 'performance',
      metric: 'accuracy',
      maxDrop: 0.05,
      minLabeled: 500,
      reference: 'live',
      alpha: 0.05,
    });
  });

  it('takes the evaluation or a declared value as the reference, and its own level', () => {
    const spec = parseSpec(
      withTriggers(`  - { kind: performance, metric: logLoss, maxDrop: 0.1, reference: evaluation, alpha: 0.01 }
  - { kind: performance, maxDrop: 0.05, minLabeled: 200, reference: { value: 0.8 } }`),
    );
    expect(spec.triggers[0]).toMatchObject({ metric: 'logLoss', reference: 'evaluation', alpha: 0.01, minLabeled: 500 });
    expect(spec.triggers[1]).toMatchObject({ metric: 'accuracy', reference: { value: 0.8 }, minLabeled: 200 });
  });

  it('refuses bad values, naming the field', () => {
    const p = specProblems(
      withTriggers(`  - { kind: performance, maxDrop: 0.05, reference: { value: 1.2 } }
  - { kind: performance, metric: logLoss, maxDrop: 0.05, reference: { value: -0.1 } }
  - { kind: performance, maxDrop: 0.05, reference: warmup }
  - { kind: performance, maxDrop: 0.05, alpha: 0.5 }
  - { kind: performance, maxDrop: 0.05, alpha: 0 }
  - { kind: performance, maxDrop: 0.05, minLabeled: 0 }
  - { kind: performance, maxDrop: 0.05, reference: { value: 0.8, from: test } }`),
    );
    expect(p).toContain('triggers[0].reference.value: 1.2 is not a possible accuracy: it lies between 0 and 1');
    expect(p).toContain('triggers[1].reference.value: -0.1 is not a possible logLoss: it is at least 0');
    expect(p).toContain('triggers[2].reference: expected live, evaluation or { value: <number> }');
    expect(p.some((x) => x.startsWith('triggers[3].alpha:'))).toBe(true);
    expect(p.some((x) => x.startsWith('triggers[4].alpha:'))).toBe(true);
    expect(p.some((x) => x.startsWith('triggers[5].minLabeled:'))).toBe(true);
    expect(p).toContain('triggers[6].reference: Unrecognized key: "from"');
    expect(p).toHaveLength(7);
  });
});
