import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError } from './business-expr.js';
import { specProblems } from './spec-problems.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const wageCost = readFileSync(join(examples, 'wage-cost.yaml'), 'utf8');
const ALLOWED = 'is not allowed: only numbers, + - * /, parentheses, known terms and sum/mean/min/max/abs';

/** The ExpressionError's message for `expr` (any other outcome fails). */
function refusal(expr: string): string {
  try {
    compileExpression(expr, new Map([['amount', 'number']]));
  } catch (e) {
    if (e instanceof ExpressionError) return e.message;
    throw e;
  }
  throw new Error(`expected '${expr}' to be refused`);
}

describe('business expressions outside the grammar', () => {
  it('a member call is refused quoting what was written, never as the function ?', () => {
    expect(specProblems(wageCost.replace('1000 * cost / n', 'constructor.constructor(\\"return process\\")()'))).toEqual([
      `business.metrics.expectedCostPer1000.expr: 'constructor.constructor(…)(…)' ${ALLOWED}`,
    ]);
    expect(refusal("constructor.constructor('return 1')")).toBe(`'constructor.constructor(…)' ${ALLOWED}`);
    expect(refusal('costs.fp(1)')).toBe(`'costs.fp(…)' ${ALLOWED}`);
    expect(refusal('amount[0]')).toBe(`'amount[…]' ${ALLOWED}`);
    expect(refusal('this')).toBe(`'this' ${ALLOWED}`);
    expect(refusal('[1, 2]')).toBe(`'[…]' ${ALLOWED}`);
    expect(refusal('tp > 2 ? 1 : 0')).toBe(`'tp > 2 ? … : …' ${ALLOWED}`);
  });

  it("names inherited from Object.prototype are unknown, not a function or a per-row term", () => {
    expect(refusal('sum(constructor)')).toMatch(/^unknown term 'constructor' \(known: /);
    expect(refusal('toString(1)')).toBe("unknown function 'toString' (known: sum, mean, min, max, abs)");
    expect(refusal('sum(__proto__)')).toMatch(/^unknown term '__proto__'/);
    expect(refusal('hasOwnProperty(tp)')).toBe("unknown function 'hasOwnProperty' (known: sum, mean, min, max, abs)");
  });

  it('a deep or long expression is an ExpressionError, not a stack overflow', () => {
    expect(refusal(`${'1+'.repeat(300)}1`)).toBe('nests deeper than 100 levels; write it shorter');
    expect(refusal(`${'-'.repeat(300)}1`)).toBe('nests deeper than 100 levels; write it shorter');
    // Parentheses leave no node of their own: 200 of them are just the number.
    expect(compileExpression(`${'('.repeat(200)}1${')'.repeat(200)}`).evaluate({ y: [1], pred: [1] }, { fp: 0, fn: 0, tp: 0, tn: 0 })).toBe(1);
    for (const long of [`${'1 + '.repeat(50_000)}1`, `${'('.repeat(50_000)}1${')'.repeat(50_000)}`, `${'-'.repeat(50_000)}1`]) {
      expect(refusal(long)).toBe(`is ${long.length} characters long; at most 1024`);
    }
  });
});
