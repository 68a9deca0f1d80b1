import { describe, expect, it } from 'vitest';
import type { Prediction } from './prediction-log.js';
import { PeriodAcc, summarize } from './report.js';

const pred = (p: number, y: 0 | 1, version = 'v1'): Prediction => ({ id: `${p}${y}`, t: 0, version, variant: 'champion', p, threshold: 0, y, feedbackAt: 1 });

describe('the replay report', () => {
  it('scores a period\'s answers at their threshold (0: unset, 0.5) and weighs periods by their labelled rows', () => {
    const a = new PeriodAcc(0, 0, 10);
    a.answered([pred(0.9, 1), pred(0.2, 0), pred(0.6, 0), pred(0.4, 1)]);
    const b = new PeriodAcc(1, 10, 20);
    b.answered([pred(0.9, 1), pred(0.1, 0), { ...pred(0.7, 1, 'v2'), variant: 'canary' }]);
    const [ra, rb] = [a.finish(), b.finish()];
    expect(ra).toMatchObject({ served: 4, accuracy: 0.5, auc: 0.75, servedBy: { v1: 4 } });
    expect(rb).toMatchObject({ served: 3, accuracy: 1, auc: 1, servedBy: { v1: 2, 'v2/canary': 1 } });
    const s = summarize([ra, rb], [a.labelled, b.labelled], { runs: 2, epochs: 10, rowEpochs: 100, champion: 'v1' });
    expect(s.accuracy).toBeCloseTo(5 / 7, 12);
    expect(s.auc).toBeCloseTo((0.75 * 4 + 1 * 3) / 7, 12);
    expect(s).toMatchObject({ periods: 2, served: 7, runs: 2, trainings: 0, promotions: 0, champion: 'v1' });
    expect(s).not.toHaveProperty('trainingMs');
  });
});
