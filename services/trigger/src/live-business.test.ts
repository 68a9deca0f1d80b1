import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lowerIsBetterIn, parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { withBusinessMetrics } from './live-business.js';
import { evaluatePerformance } from './policies.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const text = readFileSync(join(examples, 'wage-cost.yaml'), 'utf8').replace('  - kind: manual', '  - kind: manual\n  - { kind: performance, metric: expectedCostPer1000, maxDrop: 100, minLabeled: 50 }');
const spec = parseSpec(text);
const policy = spec.triggers[1];

describe('a performance trigger on a business metric', () => {
  it('computes the metric from the window’s confusion counts', () => {
    // Costs fp 1, fn 5: 10 fp and 4 fn on 100 rows cost 30, i.e. 300 per 1,000.
    const metrics = withBusinessMetrics(spec, { accuracy: 0.86, tp: 40, fp: 10, tn: 46, fn: 4 });
    expect(metrics.expectedCostPer1000).toBeCloseTo(300, 12);
    // revenue reads a column: not computable from counts, left out.
    expect(metrics.revenue).toBeUndefined();
    // No counts (an older deployer), no business metrics.
    expect(withBusinessMetrics(spec, { accuracy: 0.9 })).toEqual({ accuracy: 0.9 });
  });

  it('fires when the cost rises past the allowed drop: the goal orients it', () => {
    if (policy.kind !== 'performance') throw new Error('expected a performance policy');
    const window = (fp: number, fn: number) => ({ version: 'v1', labeled: 100, metrics: withBusinessMetrics(spec, { tp: 50 - fn, fp, tn: 50 - fp, fn }), windowEnd: '2026-01-01T00:00:00Z' });
    const oriented = (m: string) => lowerIsBetterIn(spec, m);
    // Baseline 300 per 1,000: a window costing 450 is worse by 150 > 100.
    const worse = evaluatePerformance(policy, window(10, 7), 300, oriented);
    expect(worse).toMatchObject({ fired: true, measured: { live: 450, baseline: 300, drop: 150 } });
    // A cheaper window is better, not a drop: with the default (higher is better) it would have fired.
    expect(evaluatePerformance(policy, window(5, 1), 300, oriented)).toMatchObject({ fired: false, measured: { live: 100, drop: -200 } });
    expect(evaluatePerformance(policy, window(5, 1), 300).fired).toBe(true);
  });
});
