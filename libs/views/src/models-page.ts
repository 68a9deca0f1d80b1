/** `/pipelines/<name>/models`: versions with lineage, alias history, the ledger and its verification. */
import type { LedgerEntry, ModelVersion, VerifyLedgerResponse } from '@refit/contracts';
import { actionForm, problems, runLink } from './components.js';
import { num, verdictWord, whenTs } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout, pipelineNav } from './layout.js';
import type { PageContext } from './page-context.js';

/** The models page's data. */
export type ModelsDetail = {
  pipeline: string;
  /** Newest first, at most a page. */
  models: ModelVersion[];
  /** How many versions exist in all. */
  totalModels: number;
  /** Newest first, at most a page. */
  ledger: LedgerEntry[];
  totalLedger: number;
  /** Present after the verify action. */
  verify?: VerifyLedgerResponse;
  problems: string[];
};

const ALIAS_KINDS = new Set(['promotion', 'alias-moved', 'manual-override', 'rollback']);

function lineage(m: ModelVersion): SafeHtml {
  const l = m.lineage;
  if (!l) return html`<span class="muted">no lineage</span>`;
  return html`<details><summary>lineage</summary><ul>
    <li>snapshot <code>${l.snapshotSha256.slice(0, 12)}</code>, ${String(l.rowsTrain)} / ${String(l.rowsValidation)} / ${String(l.rowsTest)} rows (train / validation / test)</li>
    <li>features: ${l.featureNames.join(', ')}</li><li>${l.backend}, ${l.epochs} epochs, seed ${String(l.seed)}, threshold ${num(l.decisionThreshold || 0.5, 3)}</li>
    <li>model <code>${l.model?.key ?? '–'}</code></li><li>batches ${l.batchIds.length}, code ${l.codeVersion}</li></ul></details>`;
}

function versionsTable(d: ModelsDetail, canSetAlias: boolean): SafeHtml {
  if (d.models.length === 0) return html`<p class="muted">no versions yet</p>`;
  const enc = encodeURIComponent(d.pipeline);
  return html`<div class="scroll"><table data-testid="versions"><thead><tr><th>version</th><th>aliases</th><th>run</th><th>verdict</th><th class="n">auc</th><th>trigger</th><th>lineage</th></tr></thead><tbody>${d.models.map(
    (m) => html`<tr id="${m.version}" data-testid="version-row"><td><strong>${m.version}</strong><div class="muted">${whenTs(m.createdAt)}</div></td><td>${m.aliases.map((a) => html`<span class="badge">${a}</span> `)}${m.promotedBy ? html`<div class="muted">promoted by ${m.promotedBy}</div>` : ''}</td><td>${runLink(m.runId)}</td><td class="${verdictWord(m.verdict)}">${verdictWord(m.verdict)}</td><td class="n">${num(m.metrics.auc)}</td><td>${m.triggerKind}</td><td>${lineage(m)}${
      canSetAlias && !m.aliases.includes('champion')
        ? actionForm({ action: `/pipelines/${enc}/alias`, testid: 'set-alias-button', label: 'Make champion', fields: html`<input type="hidden" name="alias" value="champion"><input type="hidden" name="version" value="${m.version}">` })
        : ''
    }</td></tr>`,
  )}</tbody></table></div>${d.totalModels > d.models.length ? html`<p class="muted">newest ${d.models.length} of ${d.totalModels} versions</p>` : ''}`;
}

function verifyBlock(d: ModelsDetail): SafeHtml {
  const v = d.verify;
  const form = html`<form class="action" method="get" action="/pipelines/${encodeURIComponent(d.pipeline)}/models"><input type="hidden" name="verify" value="1"><button type="submit" data-testid="verify-button">Verify the ledger</button></form>`;
  if (!v) return form;
  return html`<p data-testid="verify-result" class="${v.ok ? 'ok' : 'bad'}">${v.ok ? 'verified' : html`broken at entry ${String(v.firstBadSeq)}: ${v.problem}`} · ${String(v.entries)} entries, head <code>${v.headHash.slice(0, 16)}</code>, ${v.anchored ? 'anchored' : 'not anchored'}${v.note ? html` · ${v.note}` : ''}</p>${form}`;
}

function ledgerTable(entries: readonly LedgerEntry[]): SafeHtml {
  if (entries.length === 0) return html`<p class="muted">no entries</p>`;
  return html`<div class="scroll"><table data-testid="ledger"><thead><tr><th class="n">#</th><th>kind</th><th>run</th><th>who</th><th>what</th><th>when</th></tr></thead><tbody>${entries.map(
    (e) => html`<tr><td class="n">${String(e.seq)}</td><td>${e.kind}</td><td>${e.runId ? runLink(e.runId) : ''}</td><td>${e.actor}</td><td>${e.summary}</td><td>${e.recordedAt}</td></tr>`,
  )}</tbody></table></div>`;
}

/** `/pipelines/<name>/models`. */
export function renderModelsPage(ctx: PageContext, d: ModelsDetail): SafeHtml {
  const aliasHistory = d.ledger.filter((e) => ALIAS_KINDS.has(e.kind));
  return layout(ctx, {
    title: `${d.pipeline} models`,
    pipeline: d.pipeline,
    body: html`<h1>Models of ${d.pipeline}</h1>${pipelineNav(d.pipeline)}${problems(d.problems)}<div class="grid">
      <section class="card wide"><h2>Versions</h2>${versionsTable(d, ctx.viewer?.can.setAlias ?? false)}</section>
      <section class="card wide"><h2>Alias history</h2><div data-testid="alias-history">${ledgerTable(aliasHistory)}</div></section>
      <section class="card wide"><h2>Ledger <span class="muted">(newest ${d.ledger.length} of ${d.totalLedger})</span></h2>${verifyBlock(d)}${ledgerTable(d.ledger)}</section></div>`,
  });
}
