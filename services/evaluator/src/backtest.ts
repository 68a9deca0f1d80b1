import { dateMs } from '@refit/modeling';
import type { BacktestRule, PipelineSpec } from '@refit/spec';
import { pairedEvidence, type ComparedMetric, type EvidenceOptions, type PairedEvidence } from './comparison.js';
import { decisionsAt } from './business.js';
import { alphaOf, fmt, pfmt, signed, verdictOf, type GateOutcome, type GateResult } from './gates.js';
import { metricsOf, type Evaluation, type Head } from './judge.js';

const DAY_MS = 86_400_000;

/** One window of the history: its rows (indices into the kept rows) and how many were left out. */
export type CutWindow = {
  /** First day of the window (ISO date, inclusive). */
  from: string;
  /** Last day of the window (ISO date, inclusive): the newest row's day for the last window. */
  to: string;
  /** Indices (into {@link CutHistory.lines}) of the rows neither model trained on. */
  idx: number[];
  /** Rows of the window left out because one of the models trained (or early-stopped) on them. */
  excluded: number;
};

/** The history cut into windows, oldest first, keeping only the rows usable to judge. */
export type CutHistory = { column: string; days: number; lines: string[]; windows: CutWindow[] };

/** Milliseconds of a date cell (a bare `YYYY-MM-DD` is UTC midnight), or NaN. */
const timeOf = (v: unknown): number => (typeof v === 'string' ? dateMs(v) : Number.NaN);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Cuts the history (JSON lines) into the last `windows` windows of `days` days, counted back from
 * its newest row: window k (0 = newest) holds rows with newest − (k+1)·days < t ≤ newest − k·days.
 * A row whose serialized line is in `trainedOn` (either model's train or validation split) is
 * left out and counted; rows without a date belong to no window. Pure and deterministic.
 */
export function cutHistory(lines: readonly string[], trainedOn: ReadonlySet<string>, opts: { column: string; windows: number; days: number }): CutHistory {
  const times = lines.map((l) => timeOf((JSON.parse(l) as Record<string, unknown>)[opts.column]));
  const valid = times.filter((t) => Number.isFinite(t));
  const kept: string[] = [];
  const windows: CutWindow[] = [];
  if (valid.length === 0) return { column: opts.column, days: opts.days, lines: kept, windows };
  const newest = valid.reduce((a, b) => Math.max(a, b));
  const span = opts.days * DAY_MS;
  for (let k = opts.windows - 1; k >= 0; k--) {
    const hi = newest - k * span;
    windows.push({ from: isoDay(hi - span + DAY_MS), to: isoDay(hi), idx: [], excluded: 0 });
  }
  lines.forEach((line, i) => {
    const k = Math.floor((newest - times[i]) / span);
    if (!(k >= 0 && k < opts.windows)) return; // undated, or older than the oldest window
    const w = windows[opts.windows - 1 - k];
    if (trainedOn.has(line)) w.excluded++;
    else w.idx.push(kept.push(line) - 1);
  });
  return { column: opts.column, days: opts.days, lines: kept, windows };
}

/** Both models in one window of the backtest. */
export type BacktestWindow = {
  from: string;
  to: string;
  /** Rows judged: in the window, labelled, and trained on by neither model. */
  rows: number;
  /** Rows of the window left out because a model trained on them. */
  excluded: number;
  /** False when the window has fewer than `minRows` rows or the paired comparison was impossible. */
  judged: boolean;
  candidate?: Record<string, number>;
  champion?: Record<string, number>;
  /** The paired comparison on the gate's metric (candidate − champion, positive = candidate better). */
  comparison?: PairedEvidence;
  /** Whether the candidate's gain is at least −margin in this (judged) window. */
  notWorse?: boolean;
};

/** The backtest of one evaluation: per-window numbers and, with a champion, the pooled comparison. */
export type BacktestReport = {
  column: string;
  days: number;
  minRows: number;
  metric: ComparedMetric;
  margin: number;
  windows: BacktestWindow[];
  /** Whether a champion was scored on the history (false without a champion, or one without a stored model). */
  compared: boolean;
  /** One paired comparison over the rows of every judged window. */
  pooled?: PairedEvidence;
  /** Why there is no backtest (no history in the lineage), when there is none. */
  missing?: string;
};

/** The models' outputs on the kept history rows: labels (NaN when a row has none) and predictions. */
export type BacktestScores = {
  y: ArrayLike<number>;
  candidate: ArrayLike<number>;
  champion?: ArrayLike<number>;
  /** Each model's stored decision threshold (0 or unset: 0.5), for the metrics of decisions. */
  candidateThreshold?: number;
  championThreshold?: number;
};

const pick = (a: ArrayLike<number>, idx: readonly number[]) => Float64Array.from(idx, (i) => a[i]);

const COMPARED: ReadonlySet<string> = new Set<ComparedMetric>(['accuracy', 'auc', 'logLoss', 'brier', 'mae', 'rmse', 'r2']);
const isCompared = (m: string): m is ComparedMetric => COMPARED.has(m);

/** The metric a backtest compares: the gate's, else the first champion rule's when built in, else auc (rmse for a regression head). */
export function backtestMetric(gates: PipelineSpec['gates'], head: Head | undefined): ComparedMetric {
  if (gates.backtest?.metric) return gates.backtest.metric;
  const first = (Array.isArray(gates.champion) ? gates.champion[0] : gates.champion).metric;
  return isCompared(first) ? first : head === 'regression' ? 'rmse' : 'auc';
}

/** Scores both models window by window (pure). */
export function backtestReport(spec: Pick<PipelineSpec, 'gates' | 'evaluation'>, head: Head | undefined, cut: CutHistory, scores: BacktestScores): BacktestReport {
  const bt = spec.evaluation.backtest;
  const minRows = bt?.minRows ?? 30;
  const metric = backtestMetric(spec.gates, head);
  const margin = spec.gates.backtest?.margin ?? 0;
  const opts: EvidenceOptions = { minSamples: spec.evaluation.minSamples, resamples: spec.evaluation.resamples, seed: 0, confidence: 0.95 };
  const test = { metric, test: 'not-worse' as const, margin };
  // Accuracy compares each model's decisions at its own stored threshold.
  const decided = (p: Float64Array, threshold: number | undefined) => (metric === 'accuracy' ? decisionsAt(p, threshold) : p);
  const pooledIdx: number[] = [];
  const windows = cut.windows.map((w): BacktestWindow => {
    const idx = w.idx.filter((i) => Number.isFinite(scores.y[i]));
    const base = { from: w.from, to: w.to, rows: idx.length, excluded: w.excluded };
    if (idx.length < minRows) return { ...base, judged: false };
    const y = pick(scores.y, idx);
    const cand = pick(scores.candidate, idx);
    const champ = scores.champion && pick(scores.champion, idx);
    const out = { ...base, candidate: metricsOf(head, y, cand, scores.candidateThreshold), champion: champ && metricsOf(head, y, champ, scores.championThreshold) };
    if (!champ) return { ...out, judged: true };
    const comparison = pairedEvidence(y, decided(champ, scores.championThreshold), decided(cand, scores.candidateThreshold), test, opts);
    if (comparison.pValue === null) return { ...out, judged: false, comparison };
    pooledIdx.push(...idx);
    return { ...out, judged: true, comparison, notWorse: comparison.gain >= -margin };
  });
  const pooled =
    scores.champion && pooledIdx.length > 0
      ? pairedEvidence(pick(scores.y, pooledIdx), decided(pick(scores.champion, pooledIdx), scores.championThreshold), decided(pick(scores.candidate, pooledIdx), scores.candidateThreshold), test, opts)
      : undefined;
  return { column: cut.column, days: cut.days, minRows, metric, margin, windows, compared: Boolean(scores.champion), pooled };
}

function mostWindowsGate(r: BacktestReport, version: string, gate: string): GateResult {
  const judged = r.windows.filter((w) => w.judged);
  const notWorse = judged.filter((w) => w.notWorse).length;
  const unjudged = r.windows.length - judged.length;
  const where = `${judged.length} judged window${judged.length === 1 ? '' : 's'} of ${r.days} days${unjudged ? ` (${unjudged} more too small to judge)` : ''}`;
  const what = `${r.metric} not worse than champion ${version}'s beyond the margin ${fmt(r.margin)}`;
  const needed = Math.floor(judged.length / 2) + 1;
  if (judged.length === 0) return { gate, outcome: 'inconclusive', passed: false, reason: `backtest: none of the ${r.windows.length} windows has ${r.minRows} rows neither model trained on: no evidence either way` };
  const outcome: GateOutcome = notWorse >= needed ? 'pass' : 'fail';
  const verdict = outcome === 'pass' ? `a strict majority (${needed} needed)` : `not a strict majority (${needed} needed)`;
  return { gate, outcome, passed: outcome === 'pass', reason: `backtest: ${what} in ${notWorse} of ${where}: ${verdict}` };
}

function pooledGate(r: BacktestReport, version: string, gate: string, alpha: number): GateResult {
  const e = r.pooled;
  const judged = r.windows.filter((w) => w.judged).length;
  if (!e?.interval || e.pValue === null) {
    return { gate, outcome: 'inconclusive', passed: false, reason: `backtest: too few rows in ${judged} judged windows to compare ${r.metric} with champion ${version}: no evidence either way` };
  }
  const measured = `backtest: ${r.metric} ${fmt(e.candidate)} vs champion ${version}'s ${fmt(e.champion)} pooled over ${e.n} rows of ${judged} windows of ${r.days} days (gain ${signed(e.gain)}, 95% CI [${signed(e.interval.lower)}, ${signed(e.interval.upper)}]; ${e.method}, p=${pfmt(e.pValue)})`;
  const claim = `not worse than the champion beyond the margin ${fmt(r.margin)}`;
  if (e.pValue <= alpha) return { gate, outcome: 'pass', passed: true, reason: `${measured}: ${claim} (p ≤ alpha ${alpha})` };
  if (e.interval.upper < -r.margin) return { gate, outcome: 'fail', passed: false, reason: `${measured}: worse than the champion beyond the margin ${fmt(r.margin)} (the whole interval lies below ${signed(-r.margin)})` };
  return { gate, outcome: 'inconclusive', passed: false, reason: `${measured}: not shown ${claim} (p > alpha ${alpha})` };
}

/**
 * The backtest gate. `most-windows` passes when the candidate is not worse than the champion
 * beyond the margin (point estimates) in a strict majority of the judged windows; `pooled` runs one
 * non-inferiority test over the rows of all judged windows at `gates.alpha` — not Holm-corrected
 * with the champion comparisons, since a verdict passes only when every gate passes (an
 * intersection–union test keeps its level without correction).
 */
export function backtestGate(rule: BacktestRule, report: BacktestReport, championVersion: string | undefined, alpha: number): GateResult {
  const gate = `backtest:${report.metric}`;
  if (report.missing) return { gate, outcome: 'inconclusive', passed: false, reason: `backtest: ${report.missing}` };
  if (!championVersion) {
    return { gate, outcome: 'pass', passed: true, reason: `backtest: no champion yet: the candidate's ${report.metric} is reported on ${report.windows.length} windows of ${report.days} days but not compared` };
  }
  if (!report.compared) {
    return { gate, outcome: 'inconclusive', passed: false, reason: `backtest: champion ${championVersion} has no stored model and transform to score on the history: no evidence either way` };
  }
  return rule.rule === 'pooled' ? pooledGate(report, championVersion, gate, alpha) : mostWindowsGate(report, championVersion, gate);
}

/** An evaluation with its backtest (when the spec declares one). */
export type BacktestedEvaluation = Evaluation & { backtest?: BacktestReport };

/** Adds the backtest report, and its gate when the spec has one, to an evaluation; the verdict follows. */
export function withBacktest(evaluation: Evaluation, report: BacktestReport, gates: PipelineSpec['gates']): BacktestedEvaluation {
  if (!gates.backtest) return { ...evaluation, backtest: report };
  const all = [...evaluation.gates, backtestGate(gates.backtest, report, evaluation.champion?.version, alphaOf(gates))];
  return { ...evaluation, gates: all, verdict: verdictOf(all), backtest: report };
}
