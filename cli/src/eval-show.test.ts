import { create } from '@bufbuild/protobuf';
import { EvaluationReportSchema, evaluationDetailsFromJson, Verdict } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import type { Clients } from './clients.js';
import { evalShow } from './registry-commands.js';

// A stored report document (the evaluator's JSON) with a backtest and a consistency score.
const evidence = { metric: 'auc', test: 'not-worse', margin: 0, n: 91, candidate: 0.76, champion: 0.75, gain: 0.01, interval: { lower: -0.02, upper: 0.04, confidence: 0.95 }, pValue: 0.2, method: 'DeLong' };
const scores = { score: 0.81, probabilityScore: 0.9, k: 5, n: 200, queries: 200, sampled: false, groups: [{ sensitive: 'gender', group: 'female', n: 97, score: 0.8, probabilityScore: null, belowMinSize: false }] };
const document = {
  runId: 'r-1',
  pipeline: 'wage',
  verdict: 'pass',
  rowsTest: 200,
  leftOut: { rows: 3, of: 203, reason: 'champion v1 trained on 3 of the 203 test rows' },
  gates: [{ gate: 'champion:auc', outcome: 'pass', passed: true, reason: 'auc not worse' }],
  candidate: { metrics: { accuracy: 0.7, auc: 0.76, ece: null }, model: 'm.refitm' },
  champion: { version: 'v1', metrics: { accuracy: 0.68, auc: 0.75 } },
  comparisons: [{ evidence }],
  slices: [
    { column: 'sector', value: 'other', n: 50, belowMinSize: false, candidate: { accuracy: 0.7, auc: 0.71 }, champion: { accuracy: 0.6, auc: 0.65 } },
    { column: 'sector', value: 'tiny', n: 3, belowMinSize: true, candidate: { accuracy: 1 } },
  ],
  fairness: [],
  holdout: { column: 'date', lastDays: 30, from: '2015-12-01', to: '2015-12-31', n: 40, candidate: { accuracy: 0.72 } },
  consistency: { k: 5, exclude: ['gender'], dropped: ['gender=female'], dimensions: 9, candidate: scores, champion: scores },
  backtest: {
    column: 'date',
    days: 91,
    minRows: 30,
    metric: 'auc',
    margin: 0,
    compared: true,
    windows: [
      { from: '2015-01-01', to: '2015-03-31', rows: 91, excluded: 0, judged: true, candidate: { auc: 0.76 }, champion: { auc: 0.75 }, comparison: evidence, notWorse: true },
      { from: '2015-04-01', to: '2015-06-30', rows: 5, excluded: 1, judged: false },
    ],
    pooled: evidence,
  },
  thresholds: { candidate: 0.5, champion: 0.5 },
};

const summary = { runId: 'r-1', pipeline: 'wage', verdict: Verdict.PASS, rowsTest: 200n, reasons: ['pass: auc not worse'] };
const clients = (report: ReturnType<typeof create<typeof EvaluationReportSchema>>): Clients => ({ evaluator: { getReport: async () => ({ report }) } }) as unknown as Clients;

async function show(report: ReturnType<typeof create<typeof EvaluationReportSchema>>, json = false): Promise<string> {
  const out: string[] = [];
  await evalShow(clients(report), { json, progress: false, out: (s: string) => out.push(s), err: () => undefined }, 'r-1');
  return out.join('\n');
}

describe('refit eval show', () => {
  it('prints the same from the typed details as from report_json (an evaluator that predates them)', async () => {
    const typed = await show(create(EvaluationReportSchema, { ...summary, details: evaluationDetailsFromJson(document) }));
    const legacy = await show(create(EvaluationReportSchema, { ...summary, reportJson: JSON.stringify(document) }));
    expect(typed).toBe(legacy);
    expect(typed.split('\n')).toEqual(
      expect.arrayContaining([
        'run r-1 (wage): PASS on 200 test rows, champion v1',
        '  3 of 203 test rows left out: champion v1 trained on 3 of the 203 test rows',
        '  ece                            —             —',
        'slice sector=tiny, 3 rows (too small to judge): accuracy 1.0000 / auc —',
        'recent holdout (date 2015-12-01 … 2015-12-31, last 30 days, 40 rows):',
        '    gender=female            n    97  labels 0.8000  scores —  (champion 0.8000)',
        '  2015-04-01  2015-06-30       5     1          —          —        —                        not judged (too few rows)',
      ]),
    );
  });

  it('--json prints the stored document, or the typed details in its shape', async () => {
    const both = create(EvaluationReportSchema, { ...summary, details: evaluationDetailsFromJson(document), reportJson: JSON.stringify(document) });
    expect(JSON.parse(await show(both, true))).toEqual(document);
    const typedOnly = JSON.parse(await show(create(EvaluationReportSchema, { ...summary, details: evaluationDetailsFromJson(document) }), true)) as typeof document;
    expect(typedOnly).toMatchObject({ runId: 'r-1', verdict: 'pass', rowsTest: 200, champion: document.champion, backtest: { windows: [{ from: '2015-01-01', judged: true }, { from: '2015-04-01', rows: 5 }] } });
  });
});
