import { evaluationDetailsFromJson } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatBacktest } from './backtest-format.js';

/** The typed backtest of a report document's `backtest` JSON. */
const typed = (backtest: unknown) => evaluationDetailsFromJson({ backtest }).backtest;

const evidence = (candidate: number, champion: number, lower: number, upper: number) => ({ n: 91, candidate, champion, gain: candidate - champion, interval: { lower, upper }, pValue: 0.9, method: 'DeLong (se 0.02)' });

describe('backtest output', () => {
  it('prints one row per window with both models, the gain, its interval and whether the window was judged, then the pooled test', () => {
    const lines = formatBacktest(typed({
      column: 'date',
      days: 91,
      minRows: 30,
      metric: 'auc',
      margin: 0,
      windows: [
        { from: '2014-07-04', to: '2014-10-02', rows: 91, excluded: 0, judged: true, candidate: { auc: 0.7131 }, champion: { auc: 0.7808 }, comparison: evidence(0.7131, 0.7808, -0.11, -0.02), notWorse: false },
        { from: '2014-10-03', to: '2015-01-01', rows: 90, excluded: 1, judged: true, candidate: { auc: 0.76 }, champion: { auc: 0.75 }, comparison: evidence(0.76, 0.75, -0.02, 0.04), notWorse: true },
        { from: '2015-01-02', to: '2015-04-02', rows: 12, excluded: 79, judged: false },
      ],
      pooled: { ...evidence(0.77, 0.8, -0.036, -0.019), n: 181 },
    }));
    expect(lines).toEqual([
      'backtest (date, 3 windows of 91 days, auc, margin 0.0000; under 30 rows a window is not judged):',
      '  from        to            rows  excl  candidate   champion     gain  95% CI                verdict',
      '  2014-07-04  2014-10-02      91     0     0.7131     0.7808  -0.0677  [-0.1100, -0.0200]    WORSE',
      '  2014-10-03  2015-01-01      90     1     0.7600     0.7500  +0.0100  [-0.0200, +0.0400]    not worse',
      '  2015-01-02  2015-04-02      12    79          —          —        —                        not judged (too few rows)',
      '  pooled over 181 rows of the judged windows: auc 0.7700 vs 0.8000, gain -0.0300, 95% CI [-0.0360, -0.0190], p=0.90 (DeLong (se 0.02))',
    ]);
    expect(formatBacktest(typed({ column: 'date', days: 91, minRows: 30, metric: 'auc', margin: 0, windows: [], missing: 'no history' }))).toEqual([
      'backtest (date, 0 windows of 91 days, auc, margin 0.0000; under 30 rows a window is not judged):',
      '  no history',
    ]);
    expect(formatBacktest(typed(null))).toEqual([]);
  });
});
