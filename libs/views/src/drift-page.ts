/** `/pipelines/<name>/drift`: each feature's distribution, reference vs current, with PSI. */
import { problems } from './components.js';
import { driftReportSection, type DriftView } from './drift.js';
import { html, type SafeHtml } from './html.js';
import { layout, pipelineNav } from './layout.js';
import type { PageContext } from './page-context.js';

/** The drift page's data. */
export type DriftDetail = {
  pipeline: string;
  /** training | live | '' (both). */
  source: string;
  /** Newest first. */
  reports: DriftView[];
  /** Why there are no reports to show (e.g. the service cannot list them yet). */
  unavailable?: string;
  problems: string[];
  /** What each recent run's feature stage recorded about drift (shown when there are no reports). */
  featureNotes?: Array<{ runId: string; detail: string }>;
};

function notes(list: DriftDetail['featureNotes']): SafeHtml {
  if (!list || list.length === 0) return html``;
  return html`<section class="card wide" data-testid="feature-notes"><h2>Drift recorded by the feature stage of recent runs</h2><ul class="reasons">${list.map(
    (n) => html`<li><a href="/runs/${encodeURIComponent(n.runId)}">${n.runId}</a>: ${n.detail}</li>`,
  )}</ul></section>`;
}

/** `/pipelines/<name>/drift`. */
export function renderDriftPage(ctx: PageContext, d: DriftDetail): SafeHtml {
  const enc = encodeURIComponent(d.pipeline);
  const tab = (source: string, label: string) => (d.source === source ? html`<strong>${label}</strong>` : html`<a href="/pipelines/${enc}/drift${source ? `?source=${source}` : ''}">${label}</a>`);
  const body =
    d.reports.length > 0
      ? html`${d.reports.map((r) => driftReportSection(r))}`
      : html`<p class="muted wide" data-testid="no-drift">${d.unavailable ?? 'no drift reports yet'}</p>${notes(d.featureNotes)}`;
  return layout(ctx, {
    title: `${d.pipeline} drift`,
    pipeline: d.pipeline,
    body: html`<h1>Drift of ${d.pipeline}</h1>${pipelineNav(d.pipeline)}<p>${tab('', 'all')} · ${tab('training', 'training runs')} · ${tab('live', 'live windows')}</p>${problems(d.problems)}<div class="grid">${body}</div>`,
  });
}
