/**
 * Drift per feature: reference vs current distribution with PSI. Pages take the small
 * {@link DriftView} model, so they do not depend on the RPC that delivers drift reports
 * (FeatureService.ListDrift, being added); {@link driftViewFromReport} adapts a DriftReport
 * message, with or without the `histogram` field of its columns.
 */
import type { ColumnDrift, DriftReport } from '@refit/contracts';
import { chart } from './charts.js';
import { num, pValue, tsMs, when } from './format.js';
import { html, type SafeHtml } from './html.js';

/**
 * A column's distribution in both samples, as shares per bin (ColumnHistogram): numeric columns have
 * interior cut points `edges` (edges + 1 right-closed bins), categorical ones `categories` (one bin each).
 */
export type DriftHistogram = { edges: readonly number[]; categories: readonly string[]; reference: readonly number[]; current: readonly number[] };

/** One column's drift. */
export type ColumnDriftView = {
  column: string;
  /** ks, chi-square, psi… */
  test: string;
  statistic: number;
  pValue?: number;
  psi?: number;
  /** drift | no-drift | not-enough-data */
  status: string;
  referenceSize: number;
  currentSize: number;
  histogram?: DriftHistogram;
};

/** One drift report: a run's training data (or a live window) against a reference. */
export type DriftView = {
  pipeline: string;
  /** training | live */
  source: string;
  runId: string;
  referenceRunId: string;
  status: string;
  /** Share of evaluated columns that drifted. */
  share: number;
  /** live: the served version and the end of its window. */
  version: string;
  windowEndMs?: number;
  columns: ColumnDriftView[];
};

/** A DriftReport message (FeatureService.ListDrift, `drift.report`) as a {@link DriftView}. */
export function driftViewFromReport(r: DriftReport): DriftView {
  return {
    pipeline: r.pipeline,
    source: r.source || 'training',
    runId: r.runId,
    referenceRunId: r.referenceRunId,
    status: r.status,
    share: r.share,
    version: r.version,
    windowEndMs: tsMs(r.windowEnd),
    columns: r.columns.map((c: ColumnDrift) => ({
      column: c.column,
      test: c.test,
      statistic: c.statistic,
      pValue: c.pValue,
      psi: c.psi,
      status: c.status,
      referenceSize: Number(c.referenceSize),
      currentSize: Number(c.currentSize),
      histogram: c.histogram ? { edges: c.histogram.edges, categories: c.histogram.categories, reference: c.histogram.reference, current: c.histogram.current } : undefined,
    })),
  };
}

/** Shares of a count vector (so samples of different sizes compare). */
const shares = (v: readonly number[]): number[] => {
  const total = v.reduce((a, b) => a + b, 0);
  return v.map((x) => (total > 0 ? x / total : 0));
};

/** A feature name as a data-testid suffix (letters, digits, - and _ kept; the rest become -). */
export const testidPart = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '-');

/** Where each bin is drawn: a numeric bin at its centre (the open outer bins one gap beyond the cut), a category at its index. */
export function binPositions(h: DriftHistogram): number[] {
  const n = h.reference.length;
  const e = h.edges;
  if (e.length === 0 || e.length + 1 !== n) return h.reference.map((_, i) => i);
  const first = e.length > 1 ? e[1] - e[0] : 1;
  const last = e.length > 1 ? e[e.length - 1] - e[e.length - 2] : 1;
  return h.reference.map((_, k) => {
    const lo = k === 0 ? e[0] - first : e[k - 1];
    const hi = k === n - 1 ? e[e.length - 1] + last : e[k];
    return (lo + hi) / 2;
  });
}

function columnChart(c: ColumnDriftView): SafeHtml {
  const h = c.histogram;
  if (!h || h.reference.length === 0) return html`<p class="muted">no histogram in this report</p>`;
  const x = binPositions(h);
  const cats = h.categories.length > 0 ? html`<p class="muted">${h.categories.map((name, i) => `${i}: ${name}`).join(' · ')}</p>` : '';
  return html`${chart({ testid: `drift-chart-${testidPart(c.column)}`, title: `${c.column}: share per bin`, x: h.categories.length > 0 ? `${c.column} (category)` : c.column, y: 'share', height: 180, series: [{ label: 'reference', x, y: shares(h.reference), points: true }, { label: 'current', x, y: shares(h.current), points: true }] })}${cats}`;
}

/** One report: a card per column with its chart, PSI and test; `links` false for a standalone file. */
export function driftReportSection(d: DriftView, opts: { links?: boolean } = {}): SafeHtml {
  const run = opts.links === false ? html`${d.runId}` : html`<a href="/runs/${encodeURIComponent(d.runId)}">${d.runId}</a>`;
  const what = d.source === 'live' ? html`live window of ${d.version} ending ${when(d.windowEndMs)}` : html`training data of run ${run}`;
  return html`<section class="card wide" data-testid="drift-report"><h2>${what} against run ${d.referenceRunId || '–'} <span class="badge ${d.status === 'drift' ? 'bad' : 'ok'}">${d.status}</span></h2>
    <p>${num(d.share * 100, 1)}% of the evaluated columns drifted</p>
    <div class="grid">${d.columns.map(
      (c) => html`<div class="card" data-testid="drift-column"><h3>${c.column} <span class="badge ${c.status === 'drift' ? 'bad' : 'ok'}">${c.status}</span></h3>
        <p>PSI <strong data-testid="psi">${num(c.psi, 3)}</strong> · ${c.test} ${num(c.statistic, 3)}${c.pValue !== undefined ? html`, p=${pValue(c.pValue)}` : ''} · ${c.referenceSize} reference vs ${c.currentSize} current rows</p>${columnChart(c)}</div>`,
    )}</div></section>`;
}
