/**
 * An evaluation report (EvaluatorService GetReport): metrics of candidate and champion on the same
 * rows with confidence intervals, ROC, precision-recall and calibration curves, slices, fairness,
 * backtest windows and every gate sentence. The full report is the typed `details`; a report from
 * an evaluator that predates them has only `report_json`, converted with the evaluator's own
 * converter. Every part is optional, so an older report renders what it has.
 */
import { evaluationDetailsOf, type EvaluationCurves, type EvaluationDetails, type EvaluationReport, type ModelCurves } from '@refit/contracts';
import { chart, type ChartSeries } from './charts.js';
import { num, pValue, signed, verdictWord } from './format.js';
import { html, type SafeHtml } from './html.js';

/** A model's curves, or undefined when it has none. */
const curvesOf = (c: ModelCurves | undefined): ModelCurves | undefined => (c && (c.roc || c.pr || c.calibration) ? c : undefined);

/** The ROC, precision-recall and calibration charts of a report's `curves`, or a sentence saying there are none. */
export function curvesSection(curves: EvaluationCurves | undefined, championVersion: string): SafeHtml {
  const cand = curvesOf(curves?.candidate);
  if (!curves || !cand) return html`<p class="muted" data-testid="no-curves">no curves in this report</p>`;
  const champ = curvesOf(curves.champion);
  const champName = `champion ${championVersion}`.trim();
  const pick = <K extends 'roc' | 'pr' | 'calibration'>(k: K, f: (c: NonNullable<ModelCurves[K]>) => { x: number[]; y: number[] }): ChartSeries[] => {
    const out: ChartSeries[] = [];
    const a = cand[k], b = champ?.[k];
    if (a) out.push({ label: 'candidate', ...f(a) });
    if (b) out.push({ label: champName, ...f(b) });
    return out;
  };
  return html`<p class="muted">curves on ${curves.rows || 'the'} test rows</p><div class="grid">
    ${chart({ testid: 'roc-chart', title: 'ROC', x: 'false positive rate', y: 'true positive rate', series: [...pick('roc', (c) => ({ x: c.fpr, y: c.tpr })), { label: 'chance', x: [0, 1], y: [0, 1] }] })}
    ${chart({ testid: 'pr-chart', title: 'Precision-recall', x: 'recall', y: 'precision', series: pick('pr', (c) => ({ x: c.recall, y: c.precision })) })}
    ${chart({ testid: 'calibration-chart', title: 'Calibration', x: 'predicted probability', y: 'observed rate', series: [...pick('calibration', (c) => ({ x: c.predicted, y: c.observed, points: true })), { label: 'perfect', x: [0, 1], y: [0, 1] }] })}
  </div>`;
}

/** Metrics of both models, with the interval of each compared metric's gain (the overall comparisons). */
function metricsTable(r: EvaluationReport, d: EvaluationDetails): SafeHtml {
  const evidence = new Map(d.comparisons.filter((c) => !c.slice).map((c) => [c.evidence?.metric ?? '', c.evidence] as const));
  const names = [...new Set([...Object.keys(r.candidateMetrics), ...Object.keys(r.championMetrics)])].sort();
  const row = (m: string) => {
    const e = evidence.get(m);
    const iv = e?.interval;
    const ci = e && iv ? html`${signed(e.gain)} <span class="muted">[${signed(iv.lower)}, ${signed(iv.upper)}] ${Math.round((iv.confidence ?? 0.95) * 100)}% CI, p=${pValue(e.pValue)}</span>` : '';
    return html`<tr><td>${m}</td><td class="n">${num(r.candidateMetrics[m])}</td><td class="n">${num(r.championMetrics[m])}</td><td>${ci}</td></tr>`;
  };
  return html`<div class="scroll"><table data-testid="metrics"><thead><tr><th>metric</th><th class="n">candidate</th><th class="n">champion ${r.championVersion}</th><th>gain (oriented), interval</th></tr></thead><tbody>${names.map(row)}</tbody></table></div>`;
}

function slicesTable(d: EvaluationDetails): SafeHtml {
  if (d.slices.length === 0) return html`<p class="muted">no slices in this report</p>`;
  return html`<div class="scroll"><table data-testid="slices"><thead><tr><th>slice</th><th class="n">rows</th><th class="n">candidate auc</th><th class="n">champion auc</th><th class="n">candidate accuracy</th><th class="n">champion accuracy</th></tr></thead><tbody>${d.slices.map(
    (s) => html`<tr><td>${s.column} = ${s.value}${s.belowMinSize ? html` <span class="muted">(too small)</span>` : ''}</td><td class="n">${String(s.n)}</td><td class="n">${num(s.candidate.auc)}</td><td class="n">${num(s.champion.auc)}</td><td class="n">${num(s.candidate.accuracy)}</td><td class="n">${num(s.champion.accuracy)}</td></tr>`,
  )}</tbody></table></div>`;
}

function fairnessSection(d: EvaluationDetails): SafeHtml {
  if (d.fairness.length === 0) return html`<p class="muted">no sensitive groups in this report</p>`;
  return html`${d.fairness.map((f) => {
    const c = f.candidate;
    return html`<h3>groups by ${f.sensitive}</h3><p>demographic parity difference ${num(c?.demographicParityDifference)} (champion ${num(f.champion?.demographicParityDifference)}), equalized odds difference ${num(c?.equalizedOddsDifference)}</p>
    <div class="scroll"><table data-testid="fairness"><thead><tr><th>group</th><th class="n">rows</th><th class="n">selection rate</th><th class="n">TPR</th><th class="n">FPR</th></tr></thead><tbody>${(c?.groups ?? []).map(
      (g) => html`<tr><td>${g.group}${g.belowMinSize ? html` <span class="muted">(too small)</span>` : ''}</td><td class="n">${String(g.n)}</td><td class="n">${num(g.selectionRate)}</td><td class="n">${num(g.tpr)}</td><td class="n">${num(g.fpr)}</td></tr>`,
    )}</tbody></table></div>`;
  })}`;
}

function backtestSection(d: EvaluationDetails): SafeHtml {
  const b = d.backtest;
  if (!b || b.windows.length === 0) return html`<p class="muted">${b?.missing || 'no backtest in this report'}</p>`;
  const metric = b.metric;
  return html`<p>${metric} over ${b.windows.length} windows of ${String(b.days)} days by ${b.column}</p><div class="scroll"><table data-testid="backtest"><thead><tr><th>window</th><th class="n">rows</th><th class="n">candidate</th><th class="n">champion</th><th>gain, interval</th></tr></thead><tbody>${b.windows.map((w) => {
    const e = w.comparison;
    return html`<tr><td>${w.fromDate} – ${w.toDate}${w.judged ? '' : html` <span class="muted">(not judged)</span>`}</td><td class="n">${String(w.rows)}</td><td class="n">${num(w.candidate[metric])}</td><td class="n">${num(w.champion[metric])}</td><td>${e ? html`${signed(e.gain)} [${signed(e.interval?.lower)}, ${signed(e.interval?.upper)}]` : ''}</td></tr>`;
  })}</tbody></table></div>`;
}

/** Every gate sentence, one item each (data-testid `gate-sentence`). */
export function gateSentences(reasons: readonly string[]): SafeHtml {
  if (reasons.length === 0) return html`<p class="muted">no gate sentences</p>`;
  return html`<ul class="reasons">${reasons.map((r) => html`<li data-testid="gate-sentence" class="${/^pass\b/.test(r) ? 'pass' : /^fail\b/.test(r) ? 'fail' : ''}">${r}</li>`)}</ul>`;
}

/** The whole evaluation of a run; `undefined` report: a sentence saying it is not there yet. */
export function evaluationSection(report: EvaluationReport | undefined): SafeHtml {
  if (!report) return html`<section class="card wide" data-testid="evaluation"><h2>Evaluation</h2><p class="muted">no evaluation report yet</p></section>`;
  const details = evaluationDetailsOf(report);
  const v = verdictWord(report.verdict);
  return html`<section class="card wide" data-testid="evaluation"><h2>Evaluation <span class="badge ${v}" data-testid="verdict">${v}</span></h2>
    <p>candidate against ${report.championVersion ? html`champion ${report.championVersion}` : 'no champion'} on the same ${String(report.rowsTest)} test rows</p>
    <h3>Gates</h3>${gateSentences(report.reasons)}
    <h3>Metrics</h3>${metricsTable(report, details)}
    <h3>Curves</h3>${curvesSection(details.curves, report.championVersion)}
    <h3>Slices</h3>${slicesTable(details)}
    <h3>Sensitive groups</h3>${fairnessSection(details)}
    <h3>Backtest</h3>${backtestSection(details)}
  </section>`;
}
