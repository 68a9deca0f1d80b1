/** `/pipelines/<name>`: the pipeline's state and its newest runs (a bounded page of them). */
import type { Batch, Deployment, Run } from '@refit/contracts';
import { actionForm, problems, runBadge, runLink } from './components.js';
import { duration, tsMs, when, whenTs } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout, pipelineNav } from './layout.js';
import type { PageContext } from './page-context.js';
import { alertsBlock, rolloutLine, triggersBlock, type PipelineSummary } from './pipelines-page.js';

/** The pipeline page's data: the summary plus the deployment and one page of runs. */
export type PipelineDetail = PipelineSummary & {
  deployment?: Deployment;
  /** Newest first, at most `limit`. */
  runs: Run[];
  /** How many runs were asked for. */
  limit: number;
  /** The next, larger page size when more runs may exist (undefined: this is all of them). */
  moreLimit?: number;
  /** The newest data batches (page only; the live JSON leaves them out). */
  batches?: Batch[];
  /** How many batches there are in all. */
  totalBatches?: number;
};

function batchesTable(d: PipelineDetail): SafeHtml {
  if (!d.batches) return html``;
  if (d.batches.length === 0) return html`<section class="card wide"><h2>Data</h2><p class="muted">no data pushed yet</p></section>`;
  return html`<section class="card wide"><h2>Data <span class="muted">(newest ${d.batches.length} of ${d.totalBatches ?? d.batches.length} batches)</span></h2><div class="scroll"><table data-testid="batches"><thead><tr><th>batch</th><th>file</th><th>status</th><th class="n">accepted</th><th class="n">quarantined</th><th>when</th></tr></thead><tbody>${d.batches.map(
    (b) => html`<tr><td><code>${b.batchId}</code></td><td>${b.filename}</td><td class="${b.status === 'rejected' ? 'bad' : b.status === 'flagged' ? 'warn' : ''}">${b.status}${b.problems.length > 0 ? html`<div class="muted">${b.problems.join('; ')}</div>` : ''}</td><td class="n">${String(b.rowsAccepted)}</td><td class="n">${String(b.rowsQuarantined)}</td><td>${whenTs(b.createdAt)}</td></tr>`,
  )}</tbody></table></div></section>`;
}

function runsTable(d: PipelineDetail): SafeHtml {
  if (d.runs.length === 0) return html`<p class="muted">no runs yet</p>`;
  const base = `/pipelines/${encodeURIComponent(d.pipeline.name)}`;
  return html`<div class="scroll"><table data-testid="runs"><thead><tr><th>run</th><th>status</th><th>trigger</th><th>model</th><th>started</th><th class="n">took</th></tr></thead><tbody>${d.runs.map((r) => {
    const took = (tsMs(r.updatedAt) ?? 0) - (tsMs(r.createdAt) ?? 0);
    return html`<tr data-testid="run-row"><td>${runLink(r.runId)}</td><td>${runBadge(r)}</td><td>${r.triggerKind}<div class="muted">${r.reason}</div></td><td>${r.modelVersion || '–'}</td><td>${whenTs(r.createdAt)}</td><td class="n">${duration(took)}</td></tr>`;
  })}</tbody></table></div>${d.moreLimit ? html`<p><a data-testid="more-runs" href="${base}?limit=${d.moreLimit}">show up to ${d.moreLimit} runs</a></p>` : ''}`;
}

/** The live parts of a pipeline page. */
export function pipelineFragments(ctx: PageContext, d: PipelineDetail): Record<string, SafeHtml> {
  const c = d.champion;
  return {
    state: html`${problems(d.problems)}<div class="grid">
      <section class="card"><h2>Champion</h2>${c ? html`<p><a data-testid="champion" href="/pipelines/${encodeURIComponent(d.pipeline.name)}/models#${c.version}">${c.version}</a> from run ${runLink(c.runId)}</p>` : html`<p data-testid="champion" class="muted">no champion yet</p>`}
        <p>serving: ${d.deployment?.modelVersion || '–'} <span class="muted">loaded ${when(d.deployment?.loadedAtMs)}</span></p></section>
      <section class="card"><h2>Rollout</h2>${rolloutLine(d.rollout, d.pipeline.name)}</section>
      <section class="card"><h2>Alerts</h2>${alertsBlock(d.alerts, 10)}</section>
      <section class="card wide"><h2>Triggers</h2>${triggersBlock(d.explain)}${ctx.viewer?.can.triggerRun ? actionForm({ action: `/pipelines/${encodeURIComponent(d.pipeline.name)}/trigger`, testid: 'trigger-button', label: 'Trigger a run' }) : ''}</section></div>`,
    runs: runsTable(d),
  };
}

/** `/pipelines/<name>`. */
export function renderPipelinePage(ctx: PageContext, d: PipelineDetail): SafeHtml {
  const f = pipelineFragments(ctx, d);
  const name = d.pipeline.name;
  return layout(ctx, {
    title: name,
    pipeline: name,
    poll: `/api/pipelines/${encodeURIComponent(name)}?limit=${d.limit}`,
    body: html`<h1>${name} <span class="muted">spec v${d.pipeline.version}, updated ${whenTs(d.pipeline.updatedAt)}</span> <span class="muted" data-testid="live-status"></span></h1>${pipelineNav(name)}
      <div data-live="state">${f.state}</div><section class="card wide"><h2>Runs <span class="muted">(newest ${d.runs.length})</span></h2><div data-live="runs">${f.runs}</div></section>${batchesTable(d)}`,
  });
}
