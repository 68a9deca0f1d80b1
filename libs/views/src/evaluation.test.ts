import { create, equals } from '@bufbuild/protobuf';
import { EvaluationDetailsSchema, EvaluationReportSchema, evaluationDetailsFromJson, evaluationDetailsOf } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { evaluationSection } from './evaluation.js';
import { renderRunReport } from './report-page.js';
import { renderRunPage } from './run-page.js';
import { adminCtx, explain, legacyReport, report, reportDetails, reportJson, run, trials } from './views.fixtures.js';

describe('the evaluation of a run', () => {
  it('reads the typed details, and an older evaluator’s report_json through the same converter', () => {
    // The fixtures are twins: the stored document converts to exactly the typed details.
    expect(equals(EvaluationDetailsSchema, evaluationDetailsFromJson(reportJson), reportDetails)).toBe(true);
    expect(report.reportJson).toBe('');
    expect(legacyReport.details).toBeUndefined();
    expect(equals(EvaluationDetailsSchema, evaluationDetailsOf(legacyReport), reportDetails)).toBe(true);
    expect(evaluationDetailsOf(report)).toBe(reportDetails);
  });

  it('renders a typed report and its JSON-only twin identically (the run page and `refit report`)', () => {
    const typed = evaluationSection(report).value;
    expect(evaluationSection(legacyReport).value).toBe(typed);
    // Every part of the report is on the page: curves, the interval of a comparison, a slice, a group, a backtest window.
    expect(typed).toContain('data-testid="roc-chart"');
    expect(typed).toContain('curves on 317 test rows');
    expect(typed).toContain('-0.0099 <span class="muted">[-0.0491, +0.0308] 95% CI, p=0.021</span>');
    expect(typed).toContain('data-testid="slices"');
    expect(typed).toContain('<td>F</td><td class="n">100</td><td class="n">0.3000</td>');
    expect(typed).toContain('<td>2015-01-01 – 2015-01-31</td><td class="n">31</td><td class="n">0.7000</td><td class="n">0.6500</td><td>+0.0500 [+0.0100, +0.0900]</td>');
    const page = (r: typeof report) => renderRunPage(adminCtx, { run, decision: explain.decisions[0], report: r, trials, problems: [] }).value;
    expect(page(legacyReport)).toBe(page(report));
    const file = (r: typeof report) => renderRunReport({ assets: { kind: 'linked', base: '/assets' } }, { run, report: r, drift: [], generatedAtMs: 0 }).value;
    expect(file(legacyReport)).toBe(file(report));
  });

  it('prefers the typed details when the evaluator sends both', () => {
    const both = create(EvaluationReportSchema, { ...report, details: reportDetails, reportJson: JSON.stringify({ slices: [] }) });
    expect(evaluationSection(both).value).toBe(evaluationSection(report).value);
  });

  it('shows what a report leaves undefined as missing, typed or not, and never fails on unreadable JSON', () => {
    const document = {
      comparisons: [{ evidence: { metric: 'auc', gain: null, interval: null, pValue: null } }],
      fairness: [{ sensitive: 'sex', candidate: { groups: [{ group: 'F', n: 2, selectionRate: null, tpr: null, fpr: 0.5, belowMinSize: true }], demographicParityDifference: null } }],
      backtest: { column: 'date', days: 7, metric: 'auc', windows: [{ from: 'a', to: 'b', rows: 9, judged: true, candidate: { auc: null }, champion: {}, comparison: { gain: null, interval: null } }] },
    };
    const summary = { ...report, details: undefined, candidateMetrics: { auc: 0.6 }, championMetrics: {} };
    const legacy = evaluationSection(create(EvaluationReportSchema, { ...summary, reportJson: JSON.stringify(document) })).value;
    expect(evaluationSection(create(EvaluationReportSchema, { ...summary, details: evaluationDetailsFromJson(document) })).value).toBe(legacy);
    expect(legacy).toContain('<td>auc</td><td class="n">0.6000</td><td class="n">–</td><td></td>'); // no interval: no gain column
    expect(legacy).toContain('<td class="n">–</td><td class="n">–</td><td class="n">0.5000</td>'); // a group without rates
    expect(legacy).toContain('<td class="n">–</td><td class="n">–</td><td>– [–, –]</td>'); // a window without evidence
    for (const reportJson of ['', '{not json']) {
      const page = evaluationSection(create(EvaluationReportSchema, { ...summary, reportJson })).value;
      expect(page).toContain('no curves in this report');
      expect(page).toContain('no backtest in this report');
    }
  });
});
