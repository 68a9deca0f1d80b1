import { describe, expect, it } from 'vitest';
import { expectSameReport, fullEvaluation, fullSpec } from './report.fixtures.js';
import { reportDetails, reportDocument } from './report.js';

describe('reportDetails: the stored report, typed', () => {
  const doc = reportDocument('run-1', fullSpec, { model: { key: 'pipelines/wage/models/m.refitm', bucket: 'b', sha256: 's', sizeBytes: 1n, $typeName: 'refit.common.v1.ArtifactRef' } }, fullEvaluation);
  const stored = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  const details = reportDetails(stored);

  it('has every field of a full report, with the same value, and nothing else', () => {
    expect(expectSameReport(stored, details)).toBeGreaterThan(300);
  });

  it('reads the typed numbers back as the evaluator wrote them', () => {
    expect(details.gates.map((g) => [g.gate, g.outcome, g.passed])).toEqual([
      ['floor:accuracy', 'pass', true],
      ['champion:auc', 'inconclusive', false],
    ]);
    expect(details.candidate?.metrics).toMatchObject({ accuracy: 0.71, netValue: 1234.5 });
    expect(details.candidate?.metrics.ece).toBeNaN();
    expect(details.champion?.version).toBe('v3');
    const none = details.comparisons[2].evidence;
    expect([none?.candidate, none?.gain, none?.pValue, none?.interval]).toEqual([undefined, undefined, undefined, undefined]);
    expect(details.comparisons[1].slice).toMatchObject({ column: 'sector', value: 'construction' });
    const other = details.fairness[0].candidate?.groups[1];
    expect([other?.tpr, other?.key.gender, details.fairness[0].candidate?.equalizedOddsRatio]).toEqual([undefined, '3', undefined]);
    expect(details.fairness[0].candidate?.intervals?.demographicParityRatio).toBeUndefined();
    expect(details.holdout).toMatchObject({ fromDate: '2015-12-01', toDate: '2015-12-31', lastDays: 30 });
    expect(details.backtest?.windows.map((w) => w.notWorse)).toEqual([true, undefined]);
    expect(details.consistency?.candidate?.groups[1].score).toBeUndefined();
    expect(details.thresholds).toMatchObject({ candidate: 0.42, champion: 0.5 });
    expect(details.curves?.candidate?.calibration?.count).toEqual([60, 40]);
    expect(details.spec?.business).toBeDefined();
  });

  it('reads a report stored before some fields existed (no backtest, consistency, curves or thresholds)', () => {
    const { backtest, consistency, curves, thresholds, leftOut, ...old } = stored;
    void [backtest, consistency, curves, thresholds, leftOut];
    const d = reportDetails(old);
    expect([d.backtest, d.consistency, d.curves, d.thresholds, d.leftOut]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(d.gates).toHaveLength(2);
  });
});
