import { binaryMetrics, fairness, sliceMetrics, storedThreshold, type BinaryMetrics, type FairnessReport } from '@refit/ml';
import { lowerIsBetterIn, type ChampionRule, type PipelineSpec } from '@refit/spec';
import { businessJudgement, decisionsAt } from './business.js';
import { pairedEvidence, type ComparisonTest, type EvidenceOptions, type PairedEvidence } from './comparison.js';
import { curvesOf, type EvaluationCurves } from './curves.js';
import { evaluateConsistency, type ConsistencyEvaluation, type TestFeatures } from './consistency.js';
import { applyGates, verdictOf, type ComparisonResult, type FairnessResult, type GateOutcome, type GateResult } from './gates.js';
import { regressionMetrics } from './regression.js';

/** A raw test row (the same order as the test labels). */
export type Row = Record<string, string | number | boolean | null | undefined>;

/** The metrics Refit reports for a binary classifier, flattened for events and gates. */
export function flatMetrics(m: BinaryMetrics): Record<string, number> {
  const out: Record<string, number> = { accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1, logLoss: m.logLoss, brier: m.brier, ece: m.ece };
  if (m.rocAuc !== null) out.auc = m.rocAuc;
  if (m.averagePrecision !== null) out.averagePrecision = m.averagePrecision;
  return out;
}

/** Metrics of both models in one slice. */
export type SliceReport = { column: string; value: string; n: number; belowMinSize: boolean; candidate: Record<string, number>; champion?: Record<string, number> };

/** Both models on the recent-window holdout. */
export type HoldoutReport = { column: string; lastDays: number; from: string; to: string; n: number; candidate?: Record<string, number>; champion?: Record<string, number>; comparison?: PairedEvidence };

/** A full evaluation: metrics of both models on the same rows, slices, fairness, gates and verdict. */
export type Evaluation = {
  verdict: GateOutcome;
  gates: GateResult[];
  candidate: Record<string, number>;
  champion?: { version: string; metrics: Record<string, number> };
  comparisons: ComparisonResult[];
  slices: SliceReport[];
  fairness: Array<{ sensitive: string; candidate: FairnessReport; champion?: FairnessReport }>;
  /** Individual fairness (consistency score) of both models, when the spec asks for it. */
  consistency?: ConsistencyEvaluation;
  holdout?: HoldoutReport;
  rowsTest: number;
  /**
   * Test rows left out of the whole evaluation because the champion trained or early-stopped on
   * them (the numbers and the sentence); absent when none were.
   */
  leftOut?: { rows: number; of: number; reason: string };
  /** The decision threshold each model was judged at (its stored one, else 0.5). */
  thresholds?: { candidate: number; champion?: number };
  /** ROC, PR and calibration curves of both models on the judged rows; absent for a regression head. */
  curves?: EvaluationCurves;
};

/** The model head judged: a binary classifier (probabilities) or a regression (predicted values). */
export type Head = 'binary' | 'regression';

/**
 * What {@link judge} needs: labels and both models' outputs on the same test rows — probabilities
 * of a binary head, predicted values (and numeric targets) of a regression head.
 */
export type JudgeInput = {
  spec: Pick<PipelineSpec, 'gates' | 'evaluation' | 'business'>;
  /** The model head. Default binary. */
  head?: Head;
  y: ArrayLike<number>;
  candidate: ArrayLike<number>;
  /** The candidate's decision threshold (lineage.decisionThreshold; 0 or unset: 0.5). */
  candidateThreshold?: number;
  champion?: { version: string; probs: ArrayLike<number>; threshold?: number };
  /** The raw test rows, aligned with `y` (needed for slices, fairness and the holdout). Default none. */
  rows?: readonly Row[];
  /** The candidate's transformed test features (for the consistency score). Default none. */
  features?: TestFeatures;
};

/** The champion rules of a spec on built-in metrics as a list, each with its test spelled out (business metrics: business.ts). */
export function championRules(gates: PipelineSpec['gates']): Array<Required<ChampionRule> & ComparisonTest> {
  const rules = Array.isArray(gates.champion) ? gates.champion : [gates.champion];
  return rules.flatMap((r) => (!isBuiltinCompared(r.metric) ? [] : [{ metric: r.metric, margin: r.margin, test: r.test ?? 'not-worse', slices: r.slices ?? false }]));
}

const BUILTIN_COMPARED: ReadonlySet<string> = new Set(['accuracy', 'auc', 'logLoss', 'brier', 'mae', 'rmse', 'r2']);
const isBuiltinCompared = (m: string): m is ComparisonTest['metric'] => BUILTIN_COMPARED.has(m);

/** The flattened metric suite of one model's outputs: the binary suite, or mae, rmse and r2. */
export function metricsOf(head: Head | undefined, y: ArrayLike<number>, pred: ArrayLike<number>, threshold?: number): Record<string, number> {
  return head === 'regression' ? regressionMetrics(y, pred) : flatMetrics(binaryMetrics(y, pred, { threshold: storedThreshold(threshold) }));
}

const column = (rows: readonly Row[], name: string): string[] => rows.map((r) => (r[name] === null || r[name] === undefined ? '(missing)' : String(r[name])));
const pick = <T extends ArrayLike<number>>(a: T, idx: number[]): Float64Array => Float64Array.from(idx, (i) => a[i]);

function slicesOf(input: JudgeInput, minSize: number): SliceReport[] {
  const { rows, y } = input;
  if (!rows) return [];
  if (input.head === 'regression') return regressionSlicesOf(input, rows, minSize);
  return input.spec.evaluation.slices.flatMap((name) => {
    const values = column(rows, name);
    const champ = input.champion ? sliceMetrics(y, input.champion.probs, values, { minSize, threshold: storedThreshold(input.champion.threshold) }) : [];
    return sliceMetrics(y, input.candidate, values, { minSize, threshold: storedThreshold(input.candidateThreshold) }).map((s) => {
      const c = champ.find((x) => x.slice === s.slice);
      return { column: name, value: String(s.slice), n: s.n, belowMinSize: s.belowMinSize, candidate: flatMetrics(s.metrics), champion: c && flatMetrics(c.metrics) };
    });
  });
}

function regressionSlicesOf(input: JudgeInput, rows: readonly Row[], minSize: number): SliceReport[] {
  return input.spec.evaluation.slices.flatMap((name) => {
    const groups = new Map<string, number[]>();
    column(rows, name).forEach((v, i) => groups.set(v, [...(groups.get(v) ?? []), i]));
    return [...groups].map(([value, idx]) => {
      const y = pick(input.y, idx);
      const champion = input.champion && regressionMetrics(y, pick(input.champion.probs, idx));
      return { column: name, value, n: idx.length, belowMinSize: idx.length < minSize, candidate: regressionMetrics(y, pick(input.candidate, idx)), champion };
    });
  });
}

function holdoutOf(input: JudgeInput, opts: EvidenceOptions): HoldoutReport | undefined {
  const h = input.spec.evaluation.holdout;
  if (!h || !input.rows) return undefined;
  const times = input.rows.map((r) => Date.parse(String(r[h.column] ?? '')));
  const latest = Math.max(...times.filter(Number.isFinite));
  if (!Number.isFinite(latest)) return { column: h.column, lastDays: h.lastDays, from: '', to: '', n: 0 };
  const from = latest - h.lastDays * 86_400_000;
  const idx = times.flatMap((t, i) => (t > from ? [i] : []));
  const base = { column: h.column, lastDays: h.lastDays, from: new Date(from).toISOString().slice(0, 10), to: new Date(latest).toISOString().slice(0, 10), n: idx.length };
  if (idx.length === 0) return base;
  const y = pick(input.y, idx);
  const cand = pick(input.candidate, idx);
  const champ = input.champion ? pick(input.champion.probs, idx) : undefined;
  const [rule] = championRules(input.spec.gates);
  // Accuracy compares each model's decisions at its own stored threshold, as on the whole test split.
  const accuracy = rule?.metric === 'accuracy';
  return {
    ...base,
    candidate: metricsOf(input.head, y, cand, input.candidateThreshold),
    champion: champ && metricsOf(input.head, y, champ, input.champion?.threshold),
    comparison:
      champ &&
      rule &&
      pairedEvidence(y, accuracy ? decisionsAt(champ, input.champion?.threshold) : champ, accuracy ? decisionsAt(cand, input.candidateThreshold) : cand, rule, opts),
  };
}

function comparisonsOf(input: JudgeInput, slices: SliceReport[], opts: EvidenceOptions): ComparisonResult[] {
  const { champion, y, rows } = input;
  if (!champion) return [];
  return championRules(input.spec.gates).flatMap((rule) => {
    // Accuracy compares each model's decisions at its own stored threshold.
    const accuracy = rule.metric === 'accuracy';
    const champ = accuracy ? decisionsAt(champion.probs, champion.threshold) : champion.probs;
    const cand = accuracy ? decisionsAt(input.candidate, input.candidateThreshold) : input.candidate;
    const out: ComparisonResult[] = [{ evidence: pairedEvidence(y, champ, cand, rule, opts) }];
    if (!rule.slices || !rows) return out;
    for (const name of input.spec.evaluation.slices) {
      const values = column(rows, name);
      for (const s of slices.filter((x) => x.column === name && !x.belowMinSize)) {
        const idx = values.flatMap((v, i) => (v === s.value ? [i] : []));
        out.push({ slice: { column: name, value: s.value }, evidence: pairedEvidence(pick(y, idx), pick(champ, idx), pick(cand, idx), rule, opts) });
      }
    }
    return out;
  });
}

function fairnessOf(input: JudgeInput): { reports: Evaluation['fairness']; results: FairnessResult[] } {
  const { rows, y } = input;
  const rules = input.spec.gates.fairness ?? [];
  const names = [...new Set([...input.spec.evaluation.sensitive, ...rules.map((r) => r.sensitive)])];
  // Group rates need a classifier; the spec refuses fairness with a regression head.
  if (!rows || names.length === 0 || input.head === 'regression') return { reports: [], results: [] };
  const opts = { threshold: 0.5, minGroupSize: input.spec.evaluation.minGroupSize, resamples: 500, seed: 0, intersections: false };
  const reports = names.map((name) => {
    const groups = { [name]: column(rows, name) };
    return {
      sensitive: name,
      // Group rates of each model's decisions at its own stored threshold.
      candidate: fairness(y, input.candidate, groups, { ...opts, threshold: storedThreshold(input.candidateThreshold) })[0],
      champion: input.champion ? fairness(y, input.champion.probs, groups, { ...opts, threshold: storedThreshold(input.champion.threshold) })[0] : undefined,
    };
  });
  const bySensitive = new Map(reports.map((r) => [r.sensitive, r]));
  // Every rule's column is among `names`, so its report exists.
  const results = rules.flatMap((rule) => {
    const r = bySensitive.get(rule.sensitive);
    return r ? [{ rule, candidate: r.candidate, champion: r.champion }] : [];
  });
  return { reports, results };
}

/**
 * Judges a candidate against the spec (pure, no I/O): the full metric suite of both models on
 * the same rows, per slice, per sensitive group and on the recent holdout; the gates; and the
 * verdict. Without a champion, the floors (and fairness limits) decide alone. A regression head is
 * judged on mae, rmse and r2 (no fairness: group rates need a classifier).
 */
export function judge(input: JudgeInput): Evaluation {
  const ev = input.spec.evaluation;
  const opts: EvidenceOptions = { minSamples: ev.minSamples, resamples: ev.resamples, seed: 0, confidence: 0.95 };
  const business = businessJudgement(input, opts);
  const candidate = { ...metricsOf(input.head, input.y, input.candidate, input.candidateThreshold), ...business.candidate };
  const champion = input.champion && { version: input.champion.version, metrics: { ...metricsOf(input.head, input.y, input.champion.probs, input.champion.threshold), ...business.champion } };
  const slices = slicesOf(input, ev.minGroupSize);
  const comparisons = [...comparisonsOf(input, slices, opts), ...business.comparisons];
  const { reports, results } = fairnessOf(input);
  const decidedAt = { candidate: storedThreshold(input.candidateThreshold), champion: storedThreshold(input.champion?.threshold) };
  // Consistency compares predicted labels: a classifier's (the spec refuses it with a regression head).
  const consistency =
    input.features && input.head !== 'regression'
      ? evaluateConsistency({
          spec: input.spec,
          features: input.features,
          candidate: input.candidate,
          champion: input.champion?.probs,
          rows: input.rows,
          thresholds: decidedAt,
        })
      : undefined;
  const gates = applyGates({ gates: input.spec.gates, candidate, champion, comparisons, fairness: results, consistency, lowerIsBetter: (m) => lowerIsBetterIn(input.spec, m) });
  const thresholds = input.head === 'regression' ? undefined : { candidate: decidedAt.candidate, champion: input.champion && decidedAt.champion };
  // On the same rows as every metric and comparison above: those left after the leakage exclusion.
  // A regression head has no probabilities to rank: no curves.
  const curves = input.head === 'regression' ? undefined : curvesOf(input.y, input.candidate, input.champion?.probs);
  return { verdict: verdictOf(gates), gates, candidate, champion, comparisons, slices, fairness: reports, consistency, holdout: holdoutOf(input, opts), rowsTest: input.y.length, thresholds, curves };
}
