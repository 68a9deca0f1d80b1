/** Small pieces shared by the pages: action forms, run status, problem notes. */
import { RunStatus, type Run } from '@refit/contracts';
import { html, type HtmlValue, type SafeHtml } from './html.js';

/** Longest reason a form accepts (the console checks the same limit). */
export const REASON_MAX = 500;

/** Options of {@link actionForm}. */
export type ActionFormOptions = {
  /** Where the form posts (a console route). */
  action: string;
  /** data-testid of the button. */
  testid: string;
  label: string;
  /** A red button, for what cannot be undone. */
  danger?: boolean;
  /** Extra fields before the reason (already-built inputs). */
  fields?: HtmlValue;
};

/** A POST form with a required reason (recorded with the decision) and one button. */
export function actionForm(o: ActionFormOptions): SafeHtml {
  return html`<form class="action" method="post" action="${o.action}">${o.fields}<input type="text" name="reason" required maxlength="${REASON_MAX}" placeholder="reason (recorded)" aria-label="reason"><button type="submit" data-testid="${o.testid}"${o.danger ? html` class="danger"` : ''}>${o.label}</button></form>`;
}

/** A run's status as a word. */
export function runStatusWord(s: RunStatus): string {
  return s === RunStatus.RUNNING ? 'running' : s === RunStatus.SUCCEEDED ? 'succeeded' : s === RunStatus.FAILED ? 'failed' : 'unknown';
}

/** A run's status and outcome as a coloured badge. */
export function runBadge(r: Run): SafeHtml {
  const word = runStatusWord(r.status);
  const cls = r.status === RunStatus.FAILED ? 'bad' : r.outcome === 'promoted' ? 'ok' : r.status === RunStatus.RUNNING ? 'warn' : '';
  return html`<span class="badge ${cls}" data-testid="run-status">${word}${r.outcome ? ` · ${r.outcome}` : ''}</span>`;
}

/** Link to a run page. */
export const runLink = (runId: string): SafeHtml => html`<a href="/runs/${encodeURIComponent(runId)}">${runId}</a>`;

/** What could not be read for this page (a service down, a refusal), so a partial page says so. */
export function problems(list: readonly string[]): SafeHtml {
  return list.length === 0 ? html`` : html`<div class="card error" data-testid="problems"><ul>${list.map((p) => html`<li>${p}</li>`)}</ul></div>`;
}
