/** `/pipelines/<name>/rollout`: steps and weight, live metrics per variant, guardrails, the analysis. */
import { fromJson, toJsonString, type JsonObject } from '@bufbuild/protobuf';
import { StepAnalysisSchema, type Rollout, type StepAnalysis } from '@refit/contracts';
import { chart } from './charts.js';
import { actionForm } from './components.js';
import { duration, num, pValue, parseJson, signed, when } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout, pipelineNav } from './layout.js';
import type { PageContext } from './page-context.js';

/** The rollout page's data. */
export type RolloutDetail = { pipeline: string; rollout?: Rollout; problems: string[]; nowMs: number };

/**
 * The rollout's last analysis: the typed field, or, for a rollout served by a deployer of the
 * release before it, the JSON field (the deployer's StepAnalysis, whose keys are the message's JSON
 * names; read leniently so an older or newer shape still shows what it has).
 */
export function lastAnalysis(r: Rollout): StepAnalysis | undefined {
  if (r.lastAnalysis) return r.lastAnalysis;
  const json = parseJson(r.lastAnalysisJson);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  try {
    return fromJson(StepAnalysisSchema, json as JsonObject, { ignoreUnknownFields: true });
  } catch {
    return undefined;
  }
}

function variantsTable(a: StepAnalysis | undefined, r: Rollout): SafeHtml {
  if (!a?.metric) return html`<p class="muted">no live metrics per variant yet</p>`;
  const bounds = a.test ? html`gain ${signed(a.gain)} [${signed(a.lower)}, ${signed(a.upper)}] <span class="muted">${a.test}${a.pWorse !== undefined ? html`, p(worse)=${pValue(a.pWorse)}` : ''}</span>` : '';
  return html`<div class="scroll"><table data-testid="variants"><thead><tr><th>variant</th><th>${a.metric}</th><th class="n">labeled rows</th></tr></thead><tbody>
    <tr><td>candidate ${r.candidateVersion}</td><td class="n">${num(a.candidate)}</td><td class="n">${String(a.nCandidate)}</td></tr>
    <tr><td>champion ${r.championVersion}</td><td class="n">${num(a.champion)}</td><td class="n">${String(a.nChampion)}</td></tr></tbody></table></div>
    <p data-testid="variant-gain">${bounds}${a.paired ? ' · paired on the same rows' : ''}</p>`;
}

function guardrails(a: StepAnalysis | undefined): SafeHtml {
  const op = a?.operational;
  if (!op) return html`<p class="muted">no guardrail numbers in the last analysis</p>`;
  const predictions = Number(op.predictions);
  const errorRate = predictions ? Number(op.errors) / predictions : undefined;
  return html`<ul class="reasons" data-testid="guardrails"><li>${String(op.predictions)} predictions, ${String(op.errors)} errors${errorRate !== undefined ? html` (${num(errorRate * 100, 2)}%)` : ''}</li>
    <li>latency ${num(op.latencyMs, 2)} ms vs champion ${num(op.championLatencyMs, 2)} ms</li><li>divergence from the champion ${num(op.divergence ?? a.divergence, 4)}</li></ul>`;
}

/**
 * The candidate's weight over time, step by step from the rollout's history (each step's start
 * and end), up to now while it runs. A rollout recorded before the history has only its current
 * step: then its start and the current step's start are what there is.
 */
function weightOverTime(r: Rollout, nowMs: number): SafeHtml {
  const x: number[] = [];
  const y: number[] = [];
  if (r.history.length > 0) {
    for (const h of r.history) {
      x.push(Number(h.startedAtMs) / 1000);
      y.push(h.weight);
      if (h.endedAtMs > 0n) {
        x.push(Number(h.endedAtMs) / 1000);
        y.push(h.weight);
      }
    }
  } else {
    const first = r.steps[0] ?? r.weight;
    const t0 = Number(r.startedAtMs) / 1000, ts = Number(r.stepStartedAtMs) / 1000;
    x.push(t0);
    y.push(first);
    if (r.step > 0 && ts > t0) {
      x.push(ts, ts);
      y.push(first, r.weight);
    }
  }
  if (r.status === 'active') {
    x.push(nowMs / 1000);
    y.push(r.weight);
  }
  return chart({ testid: 'weight-over-time', title: 'Candidate weight over time', x: 'time', y: 'weight %', time: true, height: 160, series: [{ label: 'weight', x, y, points: true }] });
}

/** Each step as it went: weight, when, and the analysis it ended on (or holds on now). */
function stepsTable(r: Rollout, nowMs: number): SafeHtml {
  if (r.history.length === 0) return html``;
  return html`<h3>Steps</h3><div class="scroll"><table data-testid="rollout-steps"><thead><tr><th class="n">step</th><th class="n">weight</th><th>started</th><th>for</th><th>outcome</th><th>analysis</th></tr></thead><tbody>${r.history.map(
    (h) => html`<tr data-testid="rollout-step"><td class="n">${String(h.step + 1)}</td><td class="n">${String(h.weight)}%</td><td>${when(h.startedAtMs)}</td><td>${duration((h.endedAtMs > 0n ? Number(h.endedAtMs) : nowMs) - Number(h.startedAtMs))}</td><td><span class="badge ${h.outcome}">${h.outcome || 'running'}</span></td><td>${h.reason}</td></tr>`,
  )}</tbody></table></div>`;
}

/** The live part of the rollout page. */
export function rolloutFragments(ctx: PageContext, d: RolloutDetail): Record<string, SafeHtml> {
  const r = d.rollout;
  if (!r) return { rollout: html`<p class="muted" data-testid="no-rollout">no rollout for ${d.pipeline}</p>` };
  const analysis = lastAnalysis(r);
  const active = r.status === 'active';
  const enc = encodeURIComponent(d.pipeline);
  const actions = active && ctx.viewer?.can.rollout ? html`${actionForm({ action: `/pipelines/${enc}/rollout/promote`, testid: 'promote-button', label: 'Promote candidate' })}${actionForm({ action: `/pipelines/${enc}/rollout/abort`, testid: 'abort-button', label: 'Abort rollout', danger: true })}` : '';
  const steps = r.steps.length > 0 ? r.steps : [r.weight];
  return {
    rollout: html`<div class="grid"><section class="card"><h2>${r.strategy} of ${r.candidateVersion} <span class="badge ${active ? 'warn' : r.status === 'promoted' ? 'ok' : 'bad'}" data-testid="rollout-status">${r.status}</span></h2>
      <p>against champion ${r.championVersion}, run <a href="/runs/${encodeURIComponent(r.runId)}">${r.runId}</a></p>
      <p>step ${r.step + 1} of ${steps.length}, candidate weight <strong data-testid="rollout-weight">${r.weight}%</strong>, for ${duration(d.nowMs - Number(r.stepStartedAtMs))} (since ${when(r.stepStartedAtMs)}); started ${when(r.startedAtMs)}</p>${actions}</section>
      <section class="card">${weightOverTime(r, d.nowMs)}${chart({ testid: 'weight-chart', title: 'Candidate weight per step (the current one marked)', x: 'step', y: 'weight %', height: 180, series: [{ label: 'planned', x: steps.map((_, i) => i + 1), y: steps }, { label: 'now', x: [r.step + 1], y: [r.weight], points: true }] })}</section>
      <section class="card wide"><h2>Last analysis <span class="badge ${r.lastOutcome}">${r.lastOutcome || 'none yet'}</span></h2><p data-testid="analysis">${r.lastReason || 'no analysis yet'}</p>
        <h3>Live metrics per variant</h3>${variantsTable(analysis, r)}<h3>Guardrails</h3>${guardrails(analysis)}${stepsTable(r, d.nowMs)}
        <details><summary>numbers</summary><pre class="scroll">${analysis ? toJsonString(StepAnalysisSchema, analysis) : ''}</pre></details></section></div>`,
  };
}

/** `/pipelines/<name>/rollout`. */
export function renderRolloutPage(ctx: PageContext, d: RolloutDetail): SafeHtml {
  const f = rolloutFragments(ctx, d);
  return layout(ctx, {
    title: `${d.pipeline} rollout`,
    pipeline: d.pipeline,
    poll: `/api/pipelines/${encodeURIComponent(d.pipeline)}/rollout`,
    body: html`<h1>Rollout of ${d.pipeline} <span class="muted" data-testid="live-status"></span></h1>${pipelineNav(d.pipeline)}<div data-live="rollout">${f.rollout}</div>`,
  });
}
