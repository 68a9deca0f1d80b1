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

describe('continuous policy', () => {
  it('without online keeps its batch behaviour: nothing is added', () => {
    expect(parseSpec(withTriggers('  - { kind: continuous }')).triggers[0]).toEqual({ kind: 'continuous' });
  });

  it('online: fills every default, and keeps what is given', () => {
    expect(parseSpec(withTriggers('  - { kind: continuous, online: {} }')).triggers[0]).toEqual({
      kind: 'continuous',
      online: { learningRate: 0.05, decayRows: 2000, maxStep: 1, l2: 0, microBatch: 64, alpha: 0.05, skillMargin: 0.01, resetWindow: 200, minIntervalHours: 24, driftLimit: 1 },
    });
    const spec = parseSpec(withTriggers('  - { kind: continuous, online: { learningRate: 0.01, microBatch: 256, minIntervalHours: 0.5, skillMargin: 0 } }'));
    expect(spec.triggers[0]).toMatchObject({ online: { learningRate: 0.01, microBatch: 256, minIntervalHours: 0.5, skillMargin: 0, alpha: 0.05 } });
  });

  it('online: refuses values out of range, naming the field', () => {
    const p = specProblems(
      withTriggers(`  - { kind: continuous, online: { learningRate: 0 } }
  - { kind: continuous, online: { microBatch: 1.5 } }
  - { kind: continuous, online: { alpha: 0.5 } }
  - { kind: continuous, online: { resetWindow: 10 } }
  - { kind: continuous, online: { minIntervalHours: -1 } }
  - { kind: continuous, online: { driftLimit: -1 } }
  - { kind: continuous, online: { maxStep: 1000 } }
  - { kind: continuous, online: { rate: 1 } }`),
    );
    for (const [i, field] of ['learningRate', 'microBatch', 'alpha', 'resetWindow', 'minIntervalHours', 'driftLimit', 'maxStep'].entries()) {
      expect(p.some((x) => x.startsWith(`triggers[${i}].online.${field}:`))).toBe(true);
    }
    expect(p).toContain('triggers[7].online: Unrecognized key: "rate"');
    expect(p).toHaveLength(8);
  });
});
