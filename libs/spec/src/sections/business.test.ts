import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileExpression, evaluateOnCounts, ExpressionError } from '../business-expr.js';
import { parseSpec } from '../parse.js';
import { specProblems } from '../spec-problems.js';
import { lowerIsBetterIn } from './business.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../examples');
const wageCost = readFileSync(join(examples, 'wage-cost.yaml'), 'utf8');

describe('business section', () => {
  it('reads the cost matrix, the threshold rule, the metrics and gates on them', () => {
    const spec = parseSpec(wageCost);
    expect(spec.business).toEqual({
      costs: { fp: 1, fn: 5, tp: 0, tn: 0 },
      threshold: { choose: 'minCost' },
      metrics: {
        expectedCostPer1000: { expr: '1000 * cost / n', goal: 'minimize' },
        revenue: { expr: 'sum(tp_row * 2 * education) - fp', goal: 'maximize' },
      },
    });
    expect(spec.gates.floors).toEqual({ auc: 0.65, expectedCostPer1000: 1500 });
    expect(spec.gates.champion).toEqual([{ metric: 'auc', margin: 0.03 }, { metric: 'expectedCostPer1000', margin: 50 }]);
    // Optional: a spec without it has none.
    expect(parseSpec(readFileSync(join(examples, 'wage-fairness.yaml'), 'utf8')).business).toBeUndefined();
    expect(lowerIsBetterIn(spec, 'expectedCostPer1000')).toBe(true);
    expect(lowerIsBetterIn(spec, 'revenue')).toBe(false);
    expect(lowerIsBetterIn(spec, 'logLoss')).toBe(true);
    expect(lowerIsBetterIn(spec, 'auc')).toBe(false);
  });

  it('names the bad term and where it is', () => {
    expect(specProblems(wageCost.replace('2 * education', '2 * educaton'))).toEqual([
      "business.metrics.revenue.expr: unknown term 'educaton' (known: tp, fp, tn, fn, n, pos, neg, cost, costs.fp, costs.fn, costs.tp, costs.tn; per row inside sum()/mean(): tp_row, fp_row, tn_row, fn_row, y, pred, cost_row and numeric columns education, south, experience, union, wage, age, married)",
    ]);
    expect(specProblems(wageCost.replace('2 * education', '2 * gender'))).toEqual(["business.metrics.revenue.expr: 'gender' is a category column; only number and integer columns can be used"]);
    expect(specProblems(wageCost.replace('sum(tp_row * 2 * education) - fp', 'tp_row * education'))).toEqual(["business.metrics.revenue.expr: 'tp_row' is a per-row term: use it inside sum(...) or mean(...)"]);
    expect(specProblems(wageCost.replace('1000 * cost / n', 'log(cost)'))).toEqual(["business.metrics.expectedCostPer1000.expr: unknown function 'log' (known: sum, mean, min, max, abs)"]);
    expect(specProblems(wageCost.replace('1000 * cost / n', '1000 * cost /'))[0]).toMatch(/^business\.metrics\.expectedCostPer1000\.expr: does not parse: /);
    expect(specProblems(wageCost.replace('1000 * cost / n', 'costs.fx * n'))[0]).toMatch(/^business\.metrics\.expectedCostPer1000\.expr: unknown term 'costs\.fx'/);
    expect(specProblems(wageCost.replace('1000 * cost / n', 'sum(mean(y))'))).toEqual(['business.metrics.expectedCostPer1000.expr: mean() cannot be nested inside sum() or mean()']);
    expect(specProblems(wageCost.replace('goal: maximize', 'goal: up'))[0]).toMatch(/^business\.metrics\.revenue\.goal:/);
  });

  it('keeps business names apart from built-in metrics and checks gate references', () => {
    expect(specProblems(wageCost.replace('revenue: {', 'f1: {'))).toEqual(["business.metrics.f1: 'f1' is a built-in metric name (or one without a paired test); a business metric needs a name of its own"]);
    expect(specProblems(wageCost.replace('{ metric: expectedCostPer1000, margin: 50 }', '{ metric: expectedCost, margin: 50 }'))).toEqual([
      "gates.champion[1].metric: unknown metric 'expectedCost': neither a built-in metric nor declared in business.metrics (declared: expectedCostPer1000, revenue)",
    ]);
    expect(specProblems(wageCost.replace('floors: { auc: 0.65, expectedCostPer1000: 1500 }', 'floors: { auc: 0.65, profit: 1 }'))).toEqual([
      "gates.floors.profit: unknown metric 'profit': neither a built-in metric nor declared in business.metrics (declared: expectedCostPer1000, revenue)",
    ]);
    // A built-in metric without a paired test is still refused as a comparison, as a field error.
    expect(specProblems(wageCost.replace('{ metric: auc, margin: 0.03 }', '{ metric: f1, margin: 0.03 }')).some((p) => p.startsWith('gates.champion[0].metric:'))).toBe(true);
    expect(specProblems(wageCost.replace('threshold: { choose: minCost }', 'threshold: { fixed: 1.5 }'))[0]).toMatch(/^business\.threshold/);
    expect(specProblems(wageCost.replace('{ metric: expectedCostPer1000, margin: 50 }', '{ metric: expectedCostPer1000, margin: 50, slices: true }'))).toEqual([
      "gates.champion[1].slices: per-slice comparisons are not supported for the business metric 'expectedCostPer1000'",
    ]);
  });

  it('lets a performance trigger watch a business metric of confusion counts only', () => {
    const watching = (metric: string) => wageCost.replace('  - kind: manual', `  - kind: manual\n  - { kind: performance, metric: ${metric}, maxDrop: 100 }`);
    expect(parseSpec(watching('expectedCostPer1000')).triggers[1]).toMatchObject({ kind: 'performance', metric: 'expectedCostPer1000' });
    expect(specProblems(watching('revenue'))).toEqual([
      "triggers[1].metric: 'revenue' reads the column(s) education, which live feedback does not carry; a performance trigger can watch a business metric of confusion counts only",
    ]);
    expect(specProblems(watching('profit'))[0]).toMatch(/^triggers\[1\]\.metric: unknown metric 'profit'/);
  });
});

describe('business expressions', () => {
  const columns = new Map([
    ['amount', 'number'],
    ['region', 'category'],
  ]);
  // Rows: tp (amount 10), fp (20), fn (30), tn (40).
  const rows = { y: [1, 0, 1, 0], pred: [1, 1, 0, 0], columns: { amount: [10, 20, 30, 40] } };
  const costs = { fp: 2, fn: 7, tp: -3, tn: 0 };
  const value = (expr: string) => compileExpression(expr, columns).evaluate(rows, costs);

  it('evaluates counts, costs, aggregates and scalar functions as computed by hand', () => {
    expect(value('tp + 10 * fp + 100 * fn + 1000 * tn')).toBe(1111);
    expect(value('n - pos - neg')).toBe(0);
    expect(value('cost')).toBe(-3 + 2 + 7 + 0);
    expect(value('sum(cost_row)')).toBe(value('cost'));
    expect(value('sum(tp_row * amount) - 5 * fp')).toBe(10 - 5);
    expect(value('mean(pred * amount)')).toBe((10 + 20) / 4);
    expect(value('max(costs.fn, costs.fp) + min(1, -2) + abs(-4)')).toBe(7 - 2 + 4);
    expect(value('-(tp + fp) / (tn - 1)')).toBeNaN();
    expect(compileExpression('sum(tp_row * amount)', columns).columns).toEqual(['amount']);
  });

  it('gives the same value on confusion counts as on the rows they count', () => {
    for (const expr of ['1000 * cost / n', 'sum(tp_row * 3) - fp / pos', 'mean(y) + mean(pred) * costs.fn']) {
      const c = compileExpression(expr, columns);
      expect(evaluateOnCounts(c, { tp: 1, fp: 1, tn: 1, fn: 1 }, costs)).toBeCloseTo(c.evaluate(rows, costs), 12);
    }
    expect(evaluateOnCounts(compileExpression('sum(amount)', columns), { tp: 1, fp: 0, tn: 0, fn: 0 }, costs)).toBeNaN();
  });

  it('refuses what is outside the grammar with an ExpressionError', () => {
    expect(() => compileExpression('tp ** 2', columns)).toThrow(ExpressionError);
    expect(() => compileExpression('sum(region)', columns)).toThrow("'region' is a category column");
    expect(() => compileExpression('"a" + tp', columns)).toThrow('only numbers are allowed as constants');
    expect(() => compileExpression('sum(amount, 2)', columns)).toThrow('sum() takes one argument, got 2');
    expect(() => compileExpression('tp > 2 ? 1 : 0', columns)).toThrow(ExpressionError);
    expect(() => compileExpression('sum(amout)', columns)).toThrow("unknown term 'amout'");
  });
});
