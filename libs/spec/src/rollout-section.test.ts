import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const rain = readFileSync(join(examples, 'weather-rain.yaml'), 'utf8');
const wage = readFileSync(join(examples, 'wage-cost.yaml'), 'utf8');


describe('rollout section', () => {
  it('defaults to direct promotion when left out', () => {
    expect(parseSpec(rain).rollout).toMatchObject({ strategy: 'direct', steps: [10, 50, 100], onInconclusive: 'rollback' });
  });

  it('reads a canary with its steps and analysis settings', () => {
    const spec = parseSpec(`${rain}\nrollout: { strategy: canary, steps: [5, 25, 100], minLabeled: 300, metric: logLoss, margin: 0.01, holdMinutes: 30, onInconclusive: hold }\n`);
    expect(spec.rollout).toMatchObject({ strategy: 'canary', steps: [5, 25, 100], minLabeled: 300, metric: 'logLoss', margin: 0.01, alpha: 0.05, holdMinutes: 30, onInconclusive: 'hold' });
  });

  it('names each bad field: steps that do not increase or end at 100, an A/B without its entity column', () => {
    expect(specProblems(`${rain}\nrollout: { strategy: canary, steps: [50, 10] }\n`)).toEqual([
      'rollout.steps[1]: steps must increase; 10 follows 50',
      'rollout.steps: the last step must be 100 (the candidate serves everything before it is promoted)',
    ]);
    expect(specProblems(`${rain}\nrollout: { strategy: ab }\n`)).toEqual(['rollout.entityColumn: an ab rollout needs entityColumn (the column whose value keeps an entity on one variant)']);
    expect(specProblems(`${rain}\nrollout: { strategy: blue-green }\n`)[0]).toMatch(/^rollout\.strategy: /);
  });

  it('reads guardrails and refuses an empty or out-of-range set', () => {
    const spec = parseSpec(`${rain}\nrollout: { strategy: canary, guardrails: { maxErrorRate: 0.01, maxLatencyRatio: 2, maxDivergence: 0.2 } }\n`);
    expect(spec.rollout.guardrails).toEqual({ maxErrorRate: 0.01, maxLatencyRatio: 2, maxDivergence: 0.2, minPredictions: 100 });
    expect(parseSpec(rain).rollout.guardrails).toBeUndefined();
    expect(specProblems(`${rain}\nrollout: { strategy: canary, guardrails: { minPredictions: 10 } }\n`)).toEqual(['rollout.guardrails: needs maxErrorRate, maxLatencyRatio or maxDivergence']);
    expect(specProblems(`${rain}\nrollout: { strategy: canary, guardrails: { maxLatencyRatio: 0.5 } }\n`)[0]).toMatch(/^rollout\.guardrails\.maxLatencyRatio: /);
  });

  it('compares AUC or a business metric of confusion counts; refuses other metrics with the field path', () => {
    expect(parseSpec(`${rain}\nrollout: { strategy: canary, metric: auc }\n`).rollout.metric).toBe('auc');
    expect(parseSpec(`${wage}\nrollout: { strategy: shadow, metric: expectedCostPer1000 }\n`).rollout.metric).toBe('expectedCostPer1000');
    expect(specProblems(`${wage}\nrollout: { strategy: canary, metric: revenue }\n`)).toEqual([
      "rollout.metric: 'revenue' reads the column(s) education, which live feedback does not carry; a rollout can compare a business metric of confusion counts only",
    ]);
    expect(specProblems(`${rain}\nrollout: { strategy: canary, metric: expectedCostPer1000 }\n`)).toEqual([
      "rollout.metric: unknown metric 'expectedCostPer1000': neither accuracy, logLoss, auc nor declared in business.metrics",
    ]);
    expect(specProblems(`${wage}\nrollout: { strategy: canary, metric: expectedCost }\n`)).toEqual([
      "rollout.metric: unknown metric 'expectedCost': neither accuracy, logLoss, auc nor declared in business.metrics (declared: expectedCostPer1000, revenue)",
    ]);
    for (const metric of ['brier', 'f1', '"cost per 1000"']) {
      expect(specProblems(`${rain}\nrollout: { strategy: canary, metric: ${metric} }\n`)).toEqual([
        `rollout.metric: '${metric.replaceAll('"', '')}' is not a rollout metric: accuracy, logLoss, auc, or a business metric of confusion counts (business.metrics)`,
      ]);
    }
  });
});
