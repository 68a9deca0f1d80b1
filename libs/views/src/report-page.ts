/**
 * The self-contained HTML report of one run (`refit report <run> -o report.html`): evaluation,
 * drift and decision, with uPlot inlined so the file opens with no network.
 */
import type { EvaluationReport, Run } from '@refit/contracts';
import { driftReportSection, type DriftView } from './drift.js';
import { evaluationSection } from './evaluation.js';
import { whenTs } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import type { PageContext } from './page-context.js';
import { decisionSection, stagesTimeline } from './run-page.js';

/** What the report holds. */
export type RunReport = {
  run: Run;
  report?: EvaluationReport;
  /** The run's drift reports (its training data against the previous run's). */
  drift: DriftView[];
  /** Why drift is missing, when it is. */
  driftUnavailable?: string;
  /** When the report was written (ms). */
  generatedAtMs: number;
};

/** The report as one HTML document; pass a standalone {@link PageContext} (uPlot inlined). */
export function renderRunReport(ctx: PageContext, r: RunReport): SafeHtml {
  const run = r.run;
  return layout(ctx, {
    title: `report of run ${run.runId}`,
    body: html`<h1>Run ${run.runId} of ${run.pipeline}</h1><p class="muted">started ${whenTs(run.createdAt)} by ${run.triggerKind}: ${run.reason} · report written ${new Date(r.generatedAtMs).toISOString()}</p>
      <div class="grid"><section class="card wide"><h2>Decision</h2>${decisionSection(run)}</section>
      ${evaluationSection(r.report)}
      <section class="card wide"><h2>Drift</h2>${r.drift.length > 0 ? html`${r.drift.map((d) => driftReportSection(d, { links: false }))}` : html`<p class="muted" data-testid="no-drift">${r.driftUnavailable ?? 'no drift reports for this run'}</p>`}</section>
      <section class="card wide"><h2>Stages</h2>${stagesTimeline(run)}</section></div>`,
  });
}
