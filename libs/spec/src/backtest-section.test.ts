import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const rain = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
/** weather-rain with an `evaluation:` and extra gates lines. */
const withBacktest = (evaluation: string, gate = '', yaml = rain) => yaml.replace(/^triggers:/m, `evaluation:\n  ${evaluation}\ntriggers:`).replace('  alpha: 0.05', `  alpha: 0.05${gate ? `\n  ${gate}` : ''}`);

describe('backtest sections', () => {
  it('reads evaluation.backtest (minRows 30 by default) and gates.backtest (most-windows, margin 0 by default)', () => {
    const spec = parseSpec(withBacktest('backtest: { windows: 8, days: 91 }', 'backtest: { metric: auc }'));
    expect(spec.evaluation.backtest).toEqual({ windows: 8, days: 91, minRows: 30 });
    expect(spec.gates.backtest).toEqual({ rule: 'most-windows', metric: 'auc', margin: 0 });
    expect(parseSpec(withBacktest("backtest: { windows: 4, days: 30, column: date, minRows: 10 }", "backtest: { rule: pooled, margin: 0.01 }")).gates.backtest).toEqual({ rule: 'pooled', margin: 0.01 });
  });

  it('names the bad field: a window count, a column that is not a date, a gate without windows, a metric of the other head', () => {
    expect(specProblems(withBacktest('backtest: { windows: 0, days: 91 }')).some((p) => p.startsWith('evaluation.backtest.windows:'))).toBe(true);
    expect(specProblems(withBacktest('backtest: { windows: 4, days: 91, column: wind }'))).toEqual(["evaluation.backtest.column: 'wind' is declared number; backtest windows need a date column"]);
    expect(specProblems(withBacktest('backtest: { windows: 4, days: 91, column: when }'))).toEqual(["evaluation.backtest.column: 'when' is not a column of schema.columns"]);
    expect(specProblems(withBacktest('backtest: { windows: 4, days: 91 }', '', rain.replace('  timestamp: date\n', '')))).toEqual([
      'evaluation.backtest: needs a date column to cut windows by: set evaluation.backtest.column or schema.timestamp',
    ]);
    expect(specProblems(withBacktest('slices: []', 'backtest: { rule: most-windows }'))).toEqual(['gates.backtest: needs evaluation.backtest (the windows to judge)']);
    expect(specProblems(withBacktest('backtest: { windows: 4, days: 91 }', 'backtest: { metric: rmse }'))).toEqual(['gates.backtest.metric: rmse does not fit a binary head']);
    expect(specProblems(withBacktest('backtest: { windows: 4, days: 91 }', 'backtest: { rule: majority }')).some((p) => p.startsWith('gates.backtest.rule:'))).toBe(true);
  });
});
