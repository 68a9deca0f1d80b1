import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { DriftReportSchema, EvaluationReportSchema, RunSchema, RunStatus, Verdict } from '@refit/contracts';
import { NotFoundError } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import type { Clients } from './clients.js';
import { runReport } from './report-command.js';

const run = create(RunSchema, { runId: 'r1', pipeline: 'rain', status: RunStatus.SUCCEEDED, outcome: 'promoted', modelVersion: 'v2', decisionReasons: ['pass: auc <fine>'], stages: [{ stage: 'feature', status: 'done', detail: '3 features; drift vs r0: wind psi 1.10 drift' }] });
const curves = { roc: { fpr: [0, 0.5, 1], tpr: [0, 0.7, 1] }, pr: { recall: [0, 1], precision: [1, 0.4] }, calibration: { predicted: [0.2, 0.8], observed: [0.25, 0.7], count: [5, 5] } };

const driftReport = create(DriftReportSchema, { pipeline: 'rain', runId: 'r1', referenceRunId: 'r0', status: 'drift', share: 1, source: 'training', columns: [{ column: 'wind', test: 'ks', statistic: 0.4, psi: 1.1, status: 'drift', histogram: { edges: [1, 2], reference: [0.3, 0.4, 0.3], current: [0.1, 0.2, 0.7] } }] });

/** Stand-ins for GetRun, GetReport and ListDrift. */
const clients = (withReport: boolean): Clients =>
  ({
    trigger: { getRun: async () => ({ run }) },
    evaluator: {
      getReport: async () => {
        if (!withReport) throw new NotFoundError('no report');
        return { report: create(EvaluationReportSchema, { runId: 'r1', verdict: Verdict.PASS, reasons: run.decisionReasons, reportJson: JSON.stringify({ curves: { rows: 10, candidate: curves, champion: curves } }) }) };
      },
    },
    feature: { listDrift: async () => ({ reports: withReport ? [driftReport] : [] }) },
  }) as unknown as Clients;

describe('refit report', () => {
  const out: string[] = [];
  const io = { json: false, progress: false, out: (s: string) => out.push(s), err: () => undefined };

  it('writes one self-contained file with the curves, the gates, the drift and the decision', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'refit-report-')), 'r.html');
    await runReport(clients(true), io, 'r1', file);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).toContain('var uPlot=');
    for (const id of ['roc-chart', 'pr-chart', 'calibration-chart', 'gate-sentence', 'decision', 'drift-report', 'drift-chart-wind']) expect(html).toContain(`data-testid="${id}"`);
    expect(html).toContain('auc &lt;fine&gt;');
    expect(out.at(-1)).toMatch(/written to .*r\.html/);
  });

  it('still writes a report for a run without an evaluation', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'refit-report-')), 'r.html');
    await runReport(clients(false), io, 'r1', file);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('no evaluation report yet');
    expect(html).toContain('wind psi 1.10 drift'); // no drift report: the feature stage's sentence
  });
});
