import { applyTransform, fitTransform, initBackend, labelsOf, trainModel, type RawRow } from '@refit/modeling';
import { beforeAll, describe, expect, it } from 'vitest';
import { backtestSpec, during, history, split } from './backtest.fixtures.js';
import { backtestGate, backtestReport, cutHistory, withBacktest, type BacktestReport } from './backtest.js';
import { judge } from './judge.js';

const spec = backtestSpec;
// The history as JSON lines, one per day.
const lines = history.map((r) => JSON.stringify(r));

describe('cutHistory', () => {
  it('cuts the last N windows of D days back from the newest row, each row in one window, leaving out rows a model trained on', () => {
    const trained = new Set(split(during('2015-01-01', '2016-01-01'))[0].map((r) => JSON.stringify(r)));
    const cut = cutHistory(lines, trained, { column: 'date', windows: 16, days: 91 });
    expect(cut.windows).toHaveLength(16);
    expect(cut.windows.at(-1)).toMatchObject({ from: '2015-10-02', to: '2015-12-31' });
    expect(cut.windows[0]).toMatchObject({ from: '2012-01-06', to: '2012-04-05' });
    // Contiguous: each window starts the day after the previous one ends.
    for (let k = 1; k < 16; k++) expect(Date.parse(cut.windows[k].from) - Date.parse(cut.windows[k - 1].to)).toBe(86_400_000);
    // 91 days each; the 5 days before the oldest window belong to none.
    for (const w of cut.windows) expect(w.idx.length + w.excluded).toBe(91);
    expect(cut.windows.reduce((s, w) => s + w.excluded, 0)).toBe(trained.size);
    expect(cut.lines).toHaveLength(16 * 91 - trained.size);
    for (const w of cut.windows) for (const i of w.idx) expect(trained.has(cut.lines[i])).toBe(false);
    // Only 2015 was trained on; the window ending 2015-01-01 holds one of its days.
    expect(cut.windows.slice(0, 11).every((w) => w.excluded === 0)).toBe(true);
    // Undated rows belong to no window.
    const undated = cutHistory([...lines.slice(0, 10), JSON.stringify({ date: null })], new Set(), { column: 'date', windows: 1, days: 365 });
    expect(undated.lines).toHaveLength(10);
  });
});

describe('backtest on Seattle weather', () => {
  /** Trains the spec's model on `rows`; returns its predictions on `score` (through its own transform). */
  async function trainAndScore(rows: RawRow[], score: RawRow[]): Promise<Float32Array> {
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const { model } = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
    const te = applyTransform(transform, score);
    try {
      return model.predict(te.X, te.n);
    } finally {
      model.dispose();
    }
  }

  let report: BacktestReport;
  let pooled: BacktestReport;
  const year = split(during('2015-01-01', '2016-01-01'));
  const quarter = split(during('2015-10-01', '2016-01-01'));

  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
    // Neither model's train or validation rows may be judged.
    const trainedOn = new Set([...year[0], ...year[1], ...quarter[0], ...quarter[1]].map((r) => JSON.stringify(r)));
    const cut = cutHistory(lines, trainedOn, { column: 'date', windows: 16, days: 91 });
    const rows = cut.lines.map((l) => JSON.parse(l) as RawRow);
    const y = labelsOf(rows, spec.label);
    const champion = await trainAndScore(year[0], rows);
    const candidate = await trainAndScore(quarter[0], rows);
    report = backtestReport(spec, 'binary', cut, { y, candidate, champion });
    pooled = backtestReport({ ...spec, gates: { ...spec.gates, backtest: { rule: 'pooled', metric: 'auc', margin: 0 } } }, 'binary', cut, { y, candidate, champion });
    for (const w of report.windows) {
      const c = w.comparison;
      console.info(
        `${w.from} … ${w.to}  rows ${String(w.rows).padStart(3)}  excluded ${String(w.excluded).padStart(2)}  ${w.judged ? `auc candidate ${c?.candidate.toFixed(4)} champion ${c?.champion.toFixed(4)} gain ${c?.gain.toFixed(4)}` : 'not judged'}`,
      );
    }
    console.info(`pooled: n ${report.pooled?.n} gain ${report.pooled?.gain.toFixed(4)} CI [${report.pooled?.interval?.lower.toFixed(4)}, ${report.pooled?.interval?.upper.toFixed(4)}] p ${report.pooled?.pValue}`);
  });

  it('a model trained on the latest quarter only loses to the full-year champion in most past windows, and the most-windows gate fails', () => {
    const judged = report.windows.filter((w) => w.judged);
    // 2015's windows are the ones both models trained on: too few rows left to judge.
    expect(report.windows.slice(-4).every((w) => !w.judged && w.rows < 30 && w.excluded > 60)).toBe(true);
    expect(judged).toHaveLength(12);
    const losing = judged.filter((w) => (w.comparison?.gain ?? 0) < 0);
    expect(losing.length).toBeGreaterThan(judged.length / 2);
    expect(judged.filter((w) => w.notWorse).length).toBe(judged.length - losing.length);
    const gate = backtestGate({ rule: 'most-windows', margin: 0 }, report, 'v1', 0.05);
    expect(gate).toMatchObject({ gate: 'backtest:auc', outcome: 'fail' });
    expect(gate.reason).toBe(
      `backtest: auc not worse than champion v1's beyond the margin 0.0000 in ${judged.length - losing.length} of 12 judged windows of 91 days (4 more too small to judge): not a strict majority (7 needed)`,
    );
  });

  it('the pooled test over the judged windows fails too: the whole interval lies below zero', () => {
    expect(pooled.pooled?.n).toBe(report.windows.reduce((s, w) => s + (w.judged ? w.rows : 0), 0));
    const gate = backtestGate({ rule: 'pooled', margin: 0 }, pooled, 'v1', 0.05);
    expect(gate.outcome).toBe('fail');
    expect(gate.reason).toMatch(/^backtest: auc 0\.\d{4} vs champion v1's 0\.\d{4} pooled over \d+ rows of 12 windows of 91 days \(gain -0\.\d{4}, 95% CI \[-0\.\d{4}, -0\.\d{4}\]; DeLong .*: worse than the champion beyond the margin 0\.0000/);
  });

  it('joins the verdict: a failing backtest gate fails an evaluation; without a champion it passes, saying so', () => {
    const y = labelsOf(year[2], spec.label);
    const probs = Float32Array.from(y, (v) => (v ? 0.8 : 0.2));
    const alone = judge({ spec, y, candidate: probs });
    expect(alone.verdict).toBe('pass');
    const first = withBacktest(alone, { ...report, windows: report.windows.map(({ comparison: _c, champion: _h, notWorse: _n, ...w }) => w) }, spec.gates);
    expect(first.verdict).toBe('pass');
    expect(first.gates.at(-1)?.reason).toBe("backtest: no champion yet: the candidate's auc is reported on 16 windows of 91 days but not compared");
    const vsChampion = withBacktest({ ...alone, champion: { version: 'v1', metrics: alone.candidate } }, report, spec.gates);
    expect(vsChampion.verdict).toBe('fail');
    expect(vsChampion.backtest).toBe(report);
    const missing = withBacktest(alone, { ...report, windows: [], missing: "the run's lineage has no history of past data (raw_history): nothing to backtest on" }, spec.gates);
    expect(missing.verdict).toBe('inconclusive');
    // A champion without a stored model cannot be scored on the history: no evidence either way.
    expect(backtestGate({ rule: 'most-windows', margin: 0 }, { ...report, compared: false }, 'v1', 0.05).outcome).toBe('inconclusive');
  });
});
