import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lowerIsBetterIn, parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { withBusinessMetrics } from './live-business.js';
import { evaluatePerformance } from './performance.js';
import { outcomeValues } from './performance-rows.js';

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

  it('knows a business metric that is a mean per row (cost per 1,000) from one that is not (a total, a ratio)', () => {
    expect(outcomeValues(spec, 'expectedCostPer1000')).toEqual({ tp: 0, fp: 1000, tn: 0, fn: 5000 });
    expect(outcomeValues(spec, 'revenue')).toBeNull();
    const more = parseSpec(text.replace('    revenue:', '    totalCost: { expr: "cost", goal: minimize }\n    hitRate: { expr: "tp / (tp + fp)", goal: maximize }\n    revenue:'));
    expect(outcomeValues(more, 'totalCost')).toBeNull();
    expect(outcomeValues(more, 'hitRate')).toBeNull();
  });

  it('tests the cost per row sequentially and fires when it rises past the allowed drop: the goal orients it', () => {
    if (policy.kind !== 'performance') throw new Error('expected a performance policy');
    const declared = { ...policy, reference: { value: 300 } };
    const window = (i: number, fp: number, fn: number) => ({
      version: 'v1',
      labeled: 100,
      metrics: withBusinessMetrics(spec, { tp: 50 - fn, fp, tn: 50 - fp, fn }),
      rowSums: {},
      windowEnd: `2026-01-01T00:${String(i).padStart(2, '0')}:00.000Z`,
    });
    const run = (fp: number, fn: number, lowerIsBetter: boolean) => {
      let state;
      let last;
      for (let i = 0; i < 6; i++) {
        ({ evaluation: last, state } = evaluatePerformance(declared, state, window(i, fp, fn), { lowerIsBetter, business: outcomeValues(spec, 'expectedCostPer1000') }));
      }
      return last;
    };
    // 950 per 1,000 against a declared 300: worse by 650, far beyond 100 (per-row costs 0, 1,000
    // or 5,000 spread widely: a worsening of 150 would need thousands of rows to be told from noise).
    const byGoal = lowerIsBetterIn(spec, 'expectedCostPer1000');
    expect(byGoal).toBe(true);
    expect(run(20, 15, byGoal)).toMatchObject({ fired: true, measured: { live: { value: 950, labeled: 600 }, drop: 650 } });
    // A cheaper window is better, not a drop; with the default orientation (higher is better) it would look like one.
    expect(run(5, 1, byGoal)).toMatchObject({ fired: false, measured: { live: { value: 100 }, drop: -200 } });
    expect(run(5, 1, false)?.fired).toBe(true);
  });
});
