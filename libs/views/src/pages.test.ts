import { create } from '@bufbuild/protobuf';
import { EvaluationCurvesSchema, MonitoringWindowSchema, RolloutSchema, triggerEvidenceFromJson, triggerThresholdsFromJson } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { binPositions, driftViewFromReport } from './drift.js';
import { renderDriftPage } from './drift-page.js';
import { curvesSection } from './evaluation.js';
import { renderModelsPage } from './models-page.js';
import { renderPipelinePage } from './pipeline-page.js';
import { renderPipelinesPage } from './pipelines-page.js';
import { lastAnalysis, renderRolloutPage } from './rollout-page.js';
import { renderRunPage } from './run-page.js';
import { renderErrorPage, renderLoginPage } from './simple-pages.js';
import { HOSTILE, NOW, adminCtx, champion, drift, explain, ledger, pipeline, report, rollout, run, trials, viewerCtx } from './views.fixtures.js';

// The hostile fixture text, escaped, must appear; raw, it must never appear.
const safe = (page: string): void => {
  expect(page).not.toContain('<img src=x');
  expect(page).not.toContain('onerror="alert');
};
const testids = (page: string): string[] => [...page.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]);

describe('pages', () => {
  const summary = { pipeline, champion, explain, rollout, alerts: [], problems: [HOSTILE] };

  it('renders the pipelines page with the champion, the triggers and a trigger button for an operator only', () => {
    const page = renderPipelinesPage(adminCtx, [summary]).value;
    safe(page);
    expect(testids(page)).toEqual(expect.arrayContaining(['champion', 'trigger-button', 'live-quality', 'policies']));
    expect(page).toContain('data-poll="/api/pipelines"');
    expect(renderPipelinesPage(viewerCtx, [summary]).value).not.toContain('trigger-button');
  });

  it("shows the champion's live quality pooled over its labeled windows, by their labels, next to its evaluation", () => {
    const w = (version: string, labeled: number, correct: number) =>
      create(MonitoringWindowSchema, { pipeline: 'rain', version, variant: 'champion', predictions: BigInt(labeled), labeled: BigInt(labeled), rowSums: { accuracy: { sum: correct, sumSquares: correct } } });
    // v2's windows: 30 of 40 and 10 of 10 right → 40/50 = 0.8 (not the mean of 0.75 and 1); v1's and an unlabeled window left out.
    const page = renderPipelinesPage(adminCtx, [{ ...summary, windows: [w('v2', 40, 30), w('v2', 10, 10), w('v1', 100, 0), w('v2', 0, 0)] }]).value;
    const cell = /data-testid="live-vs-evaluation"[\s\S]*?<td>accuracy<\/td><td class="n">([^<]+)<\/td><td class="n">([^<]+)<\/td>/.exec(page);
    expect(cell?.slice(1)).toEqual(['0.8000', '0.6800']);
    expect(page).toContain('live (2 windows, 50 labels)');
    expect(renderPipelinesPage(adminCtx, [summary]).value).toContain('no labeled live window of v2 yet');
  });

  it('renders the pipeline page with its runs and a link to more', () => {
    const page = renderPipelinePage(adminCtx, { ...summary, runs: [run], limit: 1, moreLimit: 50 }).value;
    safe(page);
    expect(testids(page)).toEqual(expect.arrayContaining(['champion', 'run-row', 'more-runs']));
    expect(page).toContain('/pipelines/rain?limit=50');
  });

  it('renders the run page: six stages, the curves of both models, every gate sentence, the trials', () => {
    const page = renderRunPage(adminCtx, { run, decision: explain.decisions[0], report, trials, problems: [] }).value;
    safe(page);
    const ids = testids(page);
    for (const s of ['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer']) expect(ids).toContain(`stage-${s}`);
    expect(ids).toEqual(expect.arrayContaining(['roc-chart', 'pr-chart', 'calibration-chart', 'learning-curves', 'verdict']));
    expect(ids.filter((i) => i === 'gate-sentence')).toHaveLength(report.reasons.length + run.decisionReasons.length);
    expect(page).toContain('champion v1');
    expect(page).toContain('[-0.0491, +0.0308]');
    expect(page).not.toContain('<body data-poll'); // a finished run is not polled
  });

  it("shows the decision's evidence from its typed fields, or from its JSON for a trigger of the release before them", () => {
    const measured = { rowsSinceRun: 120, lastRunRows: 500, share: null };
    const thresholds = { minRows: 100, minShare: null };
    const legacy = { ...explain.decisions[0], policy: 'volume', measuredJson: JSON.stringify(measured), thresholdsJson: JSON.stringify(thresholds) };
    const typed = { ...legacy, measuredJson: '', thresholdsJson: '', measured: triggerEvidenceFromJson(measured), thresholds: triggerThresholdsFromJson(thresholds) };
    const pages = [legacy, typed].map((decision) => renderRunPage(adminCtx, { run, decision, report, trials, problems: [] }).value);
    for (const page of pages) {
      safe(page);
      expect(page).toContain('<pre class="scroll" data-testid="decision-measured">{&quot;rowsSinceRun&quot;:&quot;120&quot;,&quot;lastRunRows&quot;:&quot;500&quot;}</pre>');
      expect(page).toContain('<pre class="scroll" data-testid="decision-thresholds">{&quot;minRows&quot;:&quot;100&quot;}</pre>');
    }
    expect(pages[0]).toBe(pages[1]);
  });

  it('says so when a report has no curves', () => {
    expect(curvesSection(undefined, 'v1').value).toContain('no curves in this report');
    expect(curvesSection(create(EvaluationCurvesSchema, { rows: 3, candidate: {} }), 'v1').value).toContain('no curves in this report');
  });

  it('renders the rollout page with its weight, and promote/abort only for an admin', () => {
    const page = renderRolloutPage(adminCtx, { pipeline: 'rain', rollout, problems: [], nowMs: NOW }).value;
    safe(page);
    expect(testids(page)).toEqual(expect.arrayContaining(['rollout-weight', 'promote-button', 'abort-button', 'weight-chart', 'variants', 'guardrails']));
    expect(page).toMatch(/data-testid="rollout-weight">25%/);
    // The rollout over time: one row per step of its history, and the weight chart drawn from it.
    expect(page.match(/data-testid="rollout-step"/g)).toHaveLength(2);
    const weights = JSON.parse(/data-testid="weight-over-time"[\s\S]*?<script type="application\/json"[^>]*>([\s\S]*?)<\/script>/.exec(page)?.[1] ?? 'null') as { series: Array<{ y: number[] }> } | null;
    expect(weights?.series[0].y).toEqual([5, 5, 25, 25]);
    const asViewer = renderRolloutPage(viewerCtx, { pipeline: 'rain', rollout, problems: [], nowMs: NOW }).value;
    expect(asViewer).not.toContain('promote-button');
  });

  it('reads the typed analysis of the rollout, the JSON of an older deployer the same way', () => {
    const typed = create(RolloutSchema, { ...rollout, lastAnalysisJson: '', lastAnalysis: lastAnalysis(rollout) });
    expect(typed.lastAnalysis).toMatchObject({ metric: 'auc', candidate: 0.7, nCandidate: 40n, nChampion: 120n, lower: -0.05, test: 'always-valid z', operational: { predictions: 160n, errors: 0n, latencyMs: 1.2, divergence: 0.03 } });
    expect(typed.lastAnalysis?.pWorse).toBeUndefined();
    const section = (page: string, id: string) => new RegExp(`data-testid="${id}"[\\s\\S]*?</(table|ul)>`).exec(page)?.[0];
    const fromJson = renderRolloutPage(adminCtx, { pipeline: 'rain', rollout, problems: [], nowMs: NOW }).value;
    const fromTyped = renderRolloutPage(adminCtx, { pipeline: 'rain', rollout: typed, problems: [], nowMs: NOW }).value;
    for (const id of ['variants', 'variant-gain', 'guardrails']) expect(section(fromTyped, id)).toEqual(section(fromJson, id));
    expect(section(fromTyped, 'variants')).toContain('>40<');
    expect(section(fromTyped, 'guardrails')).toContain('160 predictions, 0 errors (0.00%)');
    // A rollout that has no analysis yet, either way.
    expect(lastAnalysis(create(RolloutSchema, { pipeline: 'rain' }))).toBeUndefined();
    expect(lastAnalysis(create(RolloutSchema, { pipeline: 'rain', lastAnalysisJson: 'not json' }))).toBeUndefined();
  });

  it('renders the models page with versions, alias history, the ledger and its verification', () => {
    const page = renderModelsPage(adminCtx, { pipeline: 'rain', models: [champion], totalModels: 1, ledger, totalLedger: 2, verify: { ok: true, entries: 2n, headHash: 'ab'.repeat(32), note: '' } as never, problems: [] }).value;
    safe(page);
    expect(testids(page)).toEqual(expect.arrayContaining(['versions', 'alias-history', 'ledger', 'verify-result', 'verify-button']));
  });

  it('renders drift per feature with PSI and a chart when the report has histograms', () => {
    const view = driftViewFromReport(drift);
    view.columns[0].histogram = { edges: [0, 10, 20], categories: [], reference: [0.25, 0.25, 0.25, 0.25], current: [0.1, 0.2, 0.3, 0.4] };
    expect(binPositions(view.columns[0].histogram)).toEqual([-5, 5, 15, 25]);
    const page = renderDriftPage(adminCtx, { pipeline: 'rain', source: '', reports: [view], problems: [] }).value;
    expect(testids(page)).toEqual(expect.arrayContaining(['drift-chart-temp-max', 'psi']));
    expect(page).toContain('0.420');
    expect(renderDriftPage(adminCtx, { pipeline: 'rain', source: '', reports: [], unavailable: 'not yet', problems: [] }).value).toContain('not yet');
  });

  it('escapes error and login messages', () => {
    safe(renderErrorPage(adminCtx, 400, 'Bad request', HOSTILE).value);
    safe(renderLoginPage(adminCtx, HOSTILE).value);
  });

  it('puts the CSP nonce on every inline script and style of a console page', () => {
    const page = renderPipelinesPage(adminCtx, []).value;
    for (const tag of page.match(/<(script|style)(?![^>]*type="application\/json")[^>]*>/g) ?? []) expect(tag).toMatch(/nonce="n0nce"|src="\/assets\//);
  });
});
