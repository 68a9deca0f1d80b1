/** `/`: every pipeline with its champion, live quality, trigger policies, rollout and alerts. */
import type { Alert, ExplainTriggersResponse, ModelVersion, MonitoringWindow, Pipeline, Rollout, TriggerDecision } from '@refit/contracts';
import { actionForm, problems } from './components.js';
import { num, parseJson, obj, whenTs } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import type { PageContext } from './page-context.js';

/** What the console knows about one pipeline for its summary card. */
export type PipelineSummary = {
  pipeline: Pipeline;
  /** The version the champion alias points at (none yet: undefined). */
  champion?: ModelVersion;
  /** ExplainTriggers: the summary lines and the latest decisions. */
  explain?: ExplainTriggersResponse;
  /** The rollout (any status; only an active one is "in progress"). */
  rollout?: Rollout;
  /** Newest alerts first. */
  alerts: Alert[];
  /** Recent monitoring windows, newest first (DeployerService.ListWindows). */
  windows?: MonitoringWindow[];
  /** What could not be read. */
  problems: string[];
};

const HEADLINE = ['auc', 'accuracy', 'logLoss', 'rmse'];

/** The newest decision of each policy (decisions arrive newest first). */
export function latestPerPolicy(decisions: readonly TriggerDecision[]): TriggerDecision[] {
  const seen = new Map<string, TriggerDecision>();
  for (const d of decisions) if (!seen.has(`${d.policy}#${d.policyIndex}`)) seen.set(`${d.policy}#${d.policyIndex}`, d);
  return [...seen.values()];
}

/** Champion and its evaluation metrics, and what the latest performance check measured live. */
function quality(s: PipelineSummary): SafeHtml {
  const c = s.champion;
  if (!c) return html`<p data-testid="champion" class="muted">no champion yet</p>`;
  const perf = s.explain?.decisions.find((d) => d.policy === 'performance' || d.policy === 'business');
  const metrics = HEADLINE.filter((m) => c.metrics[m] !== undefined);
  return html`<p>champion <a data-testid="champion" href="/pipelines/${encodeURIComponent(c.pipeline)}/models#${c.version}">${c.version}</a> <span class="muted">from run ${c.runId}, ${whenTs(c.createdAt)}</span></p>
    <p>at evaluation: ${metrics.map((m) => html`${m} <strong>${num(c.metrics[m])}</strong> `)}</p>
    ${liveAgainstEvaluation(c, s.windows ?? [])}
    <p data-testid="live-quality">last performance check: ${perf ? html`${perf.lastReason || perf.reason} <span class="muted">(${whenTs(perf.lastRepeatedAt ?? perf.createdAt)})</span>` : html`<span class="muted">none yet</span>`}</p>`;
}

/**
 * The champion's live quality, pooled over its recent labeled windows (per-row sums over labeled
 * rows, so the windows weigh by their labels), next to its evaluation on the test set.
 */
export function liveAgainstEvaluation(c: ModelVersion, windows: readonly MonitoringWindow[]): SafeHtml {
  const mine = windows.filter((w) => w.version === c.version && w.variant === 'champion' && w.labeled > 0n);
  if (mine.length === 0) return html`<p data-testid="live-vs-evaluation" class="muted">no labeled live window of ${c.version} yet</p>`;
  const labeled = mine.reduce((n, w) => n + Number(w.labeled), 0);
  const pooled = (m: string) => (mine.every((w) => w.rowSums[m] !== undefined) ? mine.reduce((t, w) => t + (w.rowSums[m]?.sum ?? 0), 0) / labeled : undefined);
  const rows = (['accuracy', 'logLoss', 'brier'] as const).flatMap((m) => {
    const live = pooled(m);
    return live === undefined ? [] : [html`<tr><td>${m}</td><td class="n">${num(live)}</td><td class="n">${num(c.metrics[m])}</td></tr>`];
  });
  return html`<div class="scroll" data-testid="live-vs-evaluation"><table><thead><tr><th>${c.version}</th><th class="n">live (${String(mine.length)} windows, ${String(labeled)} labels)</th><th class="n">at evaluation</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** Each trigger policy's latest decision, with the service's plain summary lines. */
export function triggersBlock(explain: ExplainTriggersResponse | undefined): SafeHtml {
  if (!explain) return html`<p class="muted">trigger state unavailable</p>`;
  return html`<ul class="reasons" data-testid="trigger-summary">${explain.summary.map((l) => html`<li>${l}</li>`)}</ul>
    <div class="scroll"><table data-testid="policies"><thead><tr><th>policy</th><th>latest</th><th>when</th></tr></thead><tbody>${latestPerPolicy(explain.decisions).map(
      (d) => html`<tr><td>${d.policy}</td><td class="${d.fired ? 'warn' : ''}">${d.lastReason || d.reason}</td><td>${whenTs(d.lastRepeatedAt ?? d.createdAt)}</td></tr>`,
    )}</tbody></table></div>`;
}

/** The rollout in progress, in one line. */
export function rolloutLine(r: Rollout | undefined, pipeline: string): SafeHtml {
  if (!r || r.status !== 'active') return html`<p class="muted">no rollout in progress</p>`;
  return html`<p>${r.strategy} of ${r.candidateVersion} against ${r.championVersion}: step ${r.step + 1} of ${r.steps.length}, weight <strong>${r.weight}%</strong> · <a href="/pipelines/${encodeURIComponent(pipeline)}/rollout">rollout</a></p>`;
}

/** Newest alerts (at most `max`). */
export function alertsBlock(alerts: readonly Alert[], max = 5): SafeHtml {
  if (alerts.length === 0) return html`<p class="muted">no alerts</p>`;
  return html`<ul class="reasons" data-testid="alerts">${alerts.slice(0, max).map((a) => html`<li><span class="badge bad">${a.kind}</span> ${a.summary} <span class="muted">${whenTs(a.createdAt)}</span></li>`)}</ul>`;
}

/** One pipeline's card. */
export function pipelineCard(s: PipelineSummary, canTrigger: boolean): SafeHtml {
  const name = s.pipeline.name;
  const description = String(obj(parseJson(s.pipeline.specJson)).description ?? '');
  return html`<section class="card" data-testid="pipeline-${name}"><h2><a href="/pipelines/${encodeURIComponent(name)}">${name}</a> <span class="muted">spec v${s.pipeline.version}</span></h2>
    ${description ? html`<p class="muted">${description}</p>` : ''}${problems(s.problems)}
    ${quality(s)}<h3>Triggers</h3>${triggersBlock(s.explain)}<h3>Rollout</h3>${rolloutLine(s.rollout, name)}<h3>Alerts</h3>${alertsBlock(s.alerts)}
    ${canTrigger ? actionForm({ action: `/pipelines/${encodeURIComponent(name)}/trigger`, testid: 'trigger-button', label: 'Trigger a run' }) : ''}</section>`;
}

/** The live part of `/`. */
export function pipelinesFragments(ctx: PageContext, items: readonly PipelineSummary[]): Record<string, SafeHtml> {
  const canTrigger = ctx.viewer?.can.triggerRun ?? false;
  return { pipelines: items.length === 0 ? html`<p class="muted">no pipelines: apply one with <code>refit pipeline apply -f spec.yaml</code></p>` : html`${items.map((s) => pipelineCard(s, canTrigger))}` };
}

/** `/`. */
export function renderPipelinesPage(ctx: PageContext, items: readonly PipelineSummary[]): SafeHtml {
  const f = pipelinesFragments(ctx, items);
  return layout(ctx, { title: 'Pipelines', poll: '/api/pipelines', body: html`<h1>Pipelines <span class="muted" data-testid="live-status"></span></h1><div class="grid" data-live="pipelines">${f.pipelines}</div>` });
}
