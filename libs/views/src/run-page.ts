/** `/runs/<runId>`: stages on a timeline, why it started, the search, the evaluation, the decision. */
import { toJsonString } from '@bufbuild/protobuf';
import type { EvaluationReport, Run, TrainingJob, TrainingProgress, Trial, TriggerDecision } from '@refit/contracts';
import { RunStatus, TriggerEvidenceSchema, TriggerThresholdsSchema, triggerEvidenceOf } from '@refit/contracts';
import { chart } from './charts.js';
import { actionForm, problems, runBadge } from './components.js';
import { duration, num, tsMs, whenTs } from './format.js';
import { html, type SafeHtml } from './html.js';
import { evaluationSection, gateSentences } from './evaluation.js';
import { layout } from './layout.js';
import type { PageContext } from './page-context.js';

/** The stages of a run, in order. */
export const STAGES = ['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] as const;

/** Everything the run page shows. */
export type RunDetail = {
  run: Run;
  /** The trigger decision that started it (from ExplainTriggers), when still listed. */
  decision?: TriggerDecision;
  report?: EvaluationReport;
  job?: TrainingJob;
  trials: Trial[];
  progress?: TrainingProgress;
  problems: string[];
};

/** The stage timeline: each stage with its times, bar and what it produced. */
export function stagesTimeline(run: Run): SafeHtml {
  const t0 = tsMs(run.createdAt) ?? 0;
  const end = Math.max(t0 + 1, ...run.stages.map((s) => tsMs(s.finishedAt) ?? 0));
  const names = [...STAGES, ...run.stages.map((s) => s.stage).filter((s) => !(STAGES as readonly string[]).includes(s))];
  return html`<ol class="timeline" data-testid="stages">${names.map((name) => {
    const s = run.stages.find((x) => x.stage === name);
    if (!s) return html`<li data-testid="stage-${name}" class="muted"><strong>${name}</strong><span>${run.status === RunStatus.RUNNING ? 'waiting' : 'not reached'}</span></li>`;
    const a = tsMs(s.startedAt) ?? t0, b = tsMs(s.finishedAt) ?? a;
    const left = ((a - t0) / (end - t0)) * 100, width = Math.max(0.5, ((b - a) / (end - t0)) * 100);
    return html`<li data-testid="stage-${name}"><strong class="${s.status === 'failed' ? 'bad' : 'ok'}">${name}</strong><div><svg class="bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true"><rect x="${left.toFixed(2)}" width="${width.toFixed(2)}" height="4" rx="1"></rect></svg>
      ${s.status} · ${whenTs(s.finishedAt)} · took ${duration(b - a)}, compute ${duration(Number(s.computeMs))}${s.eventType ? html` · produced <code>${s.eventType.replace(/^refit\.events\.v1\./, '')}</code>` : ''}${s.detail ? html`<div class="muted">${s.detail}</div>` : ''}</div></li>`;
  })}</ol>`;
}

/**
 * The decision's evidence, what was measured and the policy's thresholds: the typed fields, or,
 * for a decision served by a trigger of the release before them, its JSON fields read as them.
 */
function evidence(dec: TriggerDecision): SafeHtml {
  const e = triggerEvidenceOf(dec);
  return html`<details><summary>evidence</summary><pre class="scroll" data-testid="decision-measured">${toJsonString(TriggerEvidenceSchema, e.measured)}</pre><pre class="scroll" data-testid="decision-thresholds">${toJsonString(TriggerThresholdsSchema, e.thresholds)}</pre></details>`;
}

function why(d: RunDetail): SafeHtml {
  const dec = d.decision;
  return html`<p><strong>${d.run.triggerKind}</strong>: ${d.run.reason}</p>${
    dec ? html`<p>${dec.reason}</p>${evidence(dec)}` : html`<p class="muted">the decision ${d.run.decisionId} is no longer among the latest listed</p>`
  }`;
}

/** The search's trials with their learning curves, and the training's latest progress. */
export function trainingSection(d: RunDetail): SafeHtml {
  const p = d.progress;
  const prog = p ? html`<p data-testid="progress">trial ${p.trial + 1} of ${p.trials}, epoch ${p.epoch} of ${p.epochs}, loss ${num(p.loss)}${p.valLoss !== undefined ? html`, validation ${num(p.valLoss)}` : ''}${p.done ? ' (done)' : ''}</p>` : html`<p class="muted">training has not reported progress</p>`;
  const job = d.job ? html`<p>${d.job.backend}, ${d.job.epochs} epochs, final loss ${num(d.job.finalLoss)}, ${d.job.stopReason}${d.job.searchStrategy ? html`, ${d.job.searchStrategy} search over ${d.job.trialCount} trials` : ''}</p>` : '';
  if (d.trials.length === 0) return html`${prog}${job}`;
  const series = d.trials.slice(0, 24).map((t) => ({ label: `trial ${t.trial}${t.best ? ' (best)' : ''}`, x: t.curve.map((c) => c.epoch), y: t.curve.map((c) => c.valLoss ?? c.loss) }));
  return html`${prog}${job}${chart({ testid: 'learning-curves', title: 'Validation loss per epoch', x: 'epoch', y: 'loss', series })}
    <div class="scroll"><table data-testid="trials"><thead><tr><th>trial</th><th>parameters</th><th>status</th><th class="n">epochs</th><th class="n">score</th><th class="n">took</th></tr></thead><tbody>${d.trials.map(
      (t) => html`<tr class="${t.best ? 'ok' : ''}"><td>${t.trial}${t.best ? ' ★' : ''}</td><td><code>${t.paramsJson}</code></td><td>${t.status}${t.error ? html`<div class="muted">${t.error}</div>` : ''}</td><td class="n">${t.epochs}</td><td class="n">${num(t.score)}</td><td class="n">${duration(Number(t.durationMs))}</td></tr>`,
    )}</tbody></table></div>`;
}

/** The decision: outcome and model version, or why the run failed. */
export function decisionSection(run: Run): SafeHtml {
  if (run.status === RunStatus.FAILED) return html`<p class="bad" data-testid="decision">failed at ${run.failedStage}: ${run.failureReason}</p>`;
  if (!run.outcome) return html`<p class="muted" data-testid="decision">not decided yet</p>`;
  return html`<p data-testid="decision"><strong>${run.outcome}</strong>${run.modelVersion ? html` as ${run.modelVersion}` : ''}${run.championVersion ? html` (champion was ${run.championVersion})` : ''}</p>${gateSentences(run.decisionReasons)}`;
}

/** The live parts of the run page. */
export function runFragments(ctx: PageContext, d: RunDetail): Record<string, SafeHtml> {
  const r = d.run;
  const cancel = r.status === RunStatus.RUNNING && ctx.viewer?.can.cancelRun ? actionForm({ action: `/runs/${encodeURIComponent(r.runId)}/cancel`, testid: 'cancel-button', label: 'Cancel run', danger: true }) : '';
  return {
    head: html`${runBadge(r)} <span class="muted">spec v${r.specVersion}, started ${whenTs(r.createdAt)}</span>${problems(d.problems)}${cancel}`,
    stages: stagesTimeline(r),
    training: trainingSection(d),
    evaluation: evaluationSection(d.report),
    decision: decisionSection(r),
  };
}

/** `/runs/<runId>`. */
export function renderRunPage(ctx: PageContext, d: RunDetail): SafeHtml {
  const f = runFragments(ctx, d);
  const r = d.run;
  return layout(ctx, {
    title: `run ${r.runId}`,
    pipeline: r.pipeline,
    poll: r.status === RunStatus.RUNNING ? `/api/runs/${encodeURIComponent(r.runId)}` : undefined,
    body: html`<h1>Run ${r.runId} of <a href="/pipelines/${encodeURIComponent(r.pipeline)}">${r.pipeline}</a> <span class="muted" data-testid="live-status"></span></h1><div data-live="head">${f.head}</div>
      <div class="grid"><section class="card"><h2>Why it started</h2>${why(d)}</section><section class="card"><h2>Decision</h2><div data-live="decision">${f.decision}</div></section>
      <section class="card wide"><h2>Stages</h2><div data-live="stages">${f.stages}</div></section>
      <section class="card wide"><h2>Training</h2><div data-live="training">${f.training}</div></section>
      <div class="wide" data-live="evaluation">${f.evaluation}</div></div>`,
  });
}
