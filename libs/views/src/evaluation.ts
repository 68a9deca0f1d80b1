/**
 * An evaluation report (EvaluatorService GetReport): metrics of candidate and champion on the same
 * rows with confidence intervals, ROC, precision-recall and calibration curves, slices, fairness,
 * backtest windows and every gate sentence. The full report is the JSON in `report_json`; every
 * part of it is optional here, so an older report renders what it has.
 */
import type { EvaluationReport } from '@refit/contracts';
import { chart, type ChartSeries } from './charts.js';
import { arr, num, numOf, nums, obj, pValue, parseJson, signed, strOf, verdictWord } from './format.js';
import { html, type SafeHtml } from './html.js';

type Curves = { roc?: { fpr: number[]; tpr: number[] }; pr?: { recall: number[]; precision: number[] }; calibration?: { predicted: number[]; observed: number[]; count: number[] } };

function curvesOf(v: unknown): Curves | undefined {
  const o = obj(v);
  if (Object.keys(o).length === 0) return undefined;
  const roc = obj(o.roc), pr = obj(o.pr), cal = obj(o.calibration);
  return {
    roc: roc.fpr ? { fpr: nums(roc.fpr), tpr: nums(roc.tpr) } : undefined,
    pr: pr.recall ? { recall: nums(pr.recall), precision: nums(pr.precision) } : undefined,
    calibration: cal.predicted ? { predicted: nums(cal.predicted), observed: nums(cal.observed), count: nums(cal.count) } : undefined,
  };
}

/** The ROC, precision-recall and calibration charts of a report's `curves`, or a sentence saying there are none. */
export function curvesSection(reportJson: unknown, championVersion: string): SafeHtml {
  const curves = obj(obj(reportJson).curves);
  const cand = curvesOf(curves.candidate);
  if (!cand) return html`<p class="muted" data-testid="no-curves">no curves in this report</p>`;
  const champ = curvesOf(curves.champion);
  const champName = `champion ${championVersion}`.trim();
  const pick = <K extends keyof Curves>(k: K, f: (c: NonNullable<Curves[K]>) => { x: number[]; y: number[] }): ChartSeries[] => {
    const out: ChartSeries[] = [];
    if (cand[k]) out.push({ label: 'candidate', ...f(cand[k]!) });
    if (champ?.[k]) out.push({ label: champName, ...f(champ[k]!) });
    return out;
  };
  const rows = numOf(curves.rows);
  return html`<p class="muted">curves on ${rows ?? 'the'} test rows</p><div class="grid">
    ${chart({ testid: 'roc-chart', title: 'ROC', x: 'false positive rate', y: 'true positive rate', series: [...pick('roc', (c) => ({ x: c.fpr, y: c.tpr })), { label: 'chance', x: [0, 1], y: [0, 1] }] })}
    ${chart({ testid: 'pr-chart', title: 'Precision-recall', x: 'recall', y: 'precision', series: pick('pr', (c) => ({ x: c.recall, y: c.precision })) })}
    ${chart({ testid: 'calibration-chart', title: 'Calibration', x: 'predicted probability', y: 'observed rate', series: [...pick('calibration', (c) => ({ x: c.predicted, y: c.observed, points: true })), { label: 'perfect', x: [0, 1], y: [0, 1] }] })}
  </div>`;
}

/** Metrics of both models, with the interval of each compared metric's gain (the overall comparisons). */
function metricsTable(r: EvaluationReport, full: Record<string, unknown>): SafeHtml {
  const evidence = new Map<string, Record<string, unknown>>();
  for (const c of arr(full.comparisons).map(obj)) if (!c.slice) evidence.set(strOf(obj(c.evidence).metric), obj(c.evidence));
  const names = [...new Set([...Object.keys(r.candidateMetrics), ...Object.keys(r.championMetrics)])].sort();
  const row = (m: string) => {
    const e = evidence.get(m);
    const iv = obj(e?.interval);
    const ci = e && iv.lower !== undefined ? html`${signed(numOf(e.gain))} <span class="muted">[${signed(numOf(iv.lower))}, ${signed(numOf(iv.upper))}] ${Math.round((numOf(iv.confidence) ?? 0.95) * 100)}% CI, p=${pValue(numOf(e.pValue))}</span>` : '';
    return html`<tr><td>${m}</td><td class="n">${num(r.candidateMetrics[m])}</td><td class="n">${num(r.championMetrics[m])}</td><td>${ci}</td></tr>`;
  };
  return html`<div class="scroll"><table data-testid="metrics"><thead><tr><th>metric</th><th class="n">candidate</th><th class="n">champion ${r.championVersion}</th><th>gain (oriented), interval</th></tr></thead><tbody>${names.map(row)}</tbody></table></div>`;
}

function slicesTable(full: Record<string, unknown>): SafeHtml {
  const slices = arr(full.slices).map(obj);
  if (slices.length === 0) return html`<p class="muted">no slices in this report</p>`;
  const metric = (m: Record<string, unknown>, k: string) => num(numOf(obj(m)[k]));
  return html`<div class="scroll"><table data-testid="slices"><thead><tr><th>slice</th><th class="n">rows</th><th class="n">candidate auc</th><th class="n">champion auc</th><th class="n">candidate accuracy</th><th class="n">champion accuracy</th></tr></thead><tbody>${slices.map(
    (s) => html`<tr><td>${strOf(s.column)} = ${strOf(s.value)}${s.belowMinSize ? html` <span class="muted">(too small)</span>` : ''}</td><td class="n">${strOf(s.n)}</td><td class="n">${metric(obj(s.candidate), 'auc')}</td><td class="n">${metric(obj(s.champion), 'auc')}</td><td class="n">${metric(obj(s.candidate), 'accuracy')}</td><td class="n">${metric(obj(s.champion), 'accuracy')}</td></tr>`,
  )}</tbody></table></div>`;
}

function fairnessSection(full: Record<string, unknown>): SafeHtml {
  const rules = arr(full.fairness).map(obj);
  if (rules.length === 0) return html`<p class="muted">no sensitive groups in this report</p>`;
  return html`${rules.map((f) => {
    const c = obj(f.candidate);
    const groups = arr(c.groups).map(obj);
    return html`<h3>groups by ${strOf(f.sensitive)}</h3><p>demographic parity difference ${num(numOf(c.demographicParityDifference))} (champion ${num(numOf(obj(f.champion).demographicParityDifference))}), equalized odds difference ${num(numOf(c.equalizedOddsDifference))}</p>
    <div class="scroll"><table data-testid="fairness"><thead><tr><th>group</th><th class="n">rows</th><th class="n">selection rate</th><th class="n">TPR</th><th class="n">FPR</th></tr></thead><tbody>${groups.map(
      (g) => html`<tr><td>${strOf(g.group)}${g.belowMinSize ? html` <span class="muted">(too small)</span>` : ''}</td><td class="n">${strOf(g.n)}</td><td class="n">${num(numOf(g.selectionRate))}</td><td class="n">${num(numOf(g.tpr))}</td><td class="n">${num(numOf(g.fpr))}</td></tr>`,
    )}</tbody></table></div>`;
  })}`;
}

function backtestSection(full: Record<string, unknown>): SafeHtml {
  const b = obj(full.backtest);
  const windows = arr(b.windows).map(obj);
  if (windows.length === 0) return html`<p class="muted">${strOf(b.missing) || 'no backtest in this report'}</p>`;
  const metric = strOf(b.metric);
  return html`<p>${metric} over ${windows.length} windows of ${strOf(b.days)} days by ${strOf(b.column)}</p><div class="scroll"><table data-testid="backtest"><thead><tr><th>window</th><th class="n">rows</th><th class="n">candidate</th><th class="n">champion</th><th>gain, interval</th></tr></thead><tbody>${windows.map((w) => {
    const e = obj(w.comparison);
    const iv = obj(e.interval);
    return html`<tr><td>${strOf(w.from)} – ${strOf(w.to)}${w.judged ? '' : html` <span class="muted">(not judged)</span>`}</td><td class="n">${strOf(w.rows)}</td><td class="n">${num(numOf(obj(w.candidate)[metric]))}</td><td class="n">${num(numOf(obj(w.champion)[metric]))}</td><td>${e.gain !== undefined ? html`${signed(numOf(e.gain))} [${signed(numOf(iv.lower))}, ${signed(numOf(iv.upper))}]` : ''}</td></tr>`;
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
  const full = obj(parseJson(report.reportJson));
  const v = verdictWord(report.verdict);
  return html`<section class="card wide" data-testid="evaluation"><h2>Evaluation <span class="badge ${v}" data-testid="verdict">${v}</span></h2>
    <p>candidate against ${report.championVersion ? html`champion ${report.championVersion}` : 'no champion'} on the same ${String(report.rowsTest)} test rows</p>
    <h3>Gates</h3>${gateSentences(report.reasons)}
    <h3>Metrics</h3>${metricsTable(report, full)}
    <h3>Curves</h3>${curvesSection(full, report.championVersion)}
    <h3>Slices</h3>${slicesTable(full)}
    <h3>Sensitive groups</h3>${fairnessSection(full)}
    <h3>Backtest</h3>${backtestSection(full)}
  </section>`;
}
