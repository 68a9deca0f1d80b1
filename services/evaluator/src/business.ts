import { decisionsAt as decideAt, MlInputError, pairedBootstrap, storedThreshold, type MetricFn } from '@refit/ml';
import { compileExpression, isBusinessMetric, type ChampionRule, type CompiledExpression, type Costs, type PipelineSpec } from '@refit/spec';
import { noEvidence, orientedGain, zPValue, type EvidenceOptions, type PairedEvidence } from './comparison.js';

/** A raw row's values, as the judge receives them. */
type Row = Record<string, string | number | boolean | null | undefined>;

/** What business metrics read of a spec. */
export type BusinessSpecPart = Pick<PipelineSpec, 'business'>;

/** One model's scores and the decision threshold stored with it (0 or unset: 0.5). */
export type ScoredModel = { probs: ArrayLike<number>; threshold?: number };

const NO_COSTS: Costs = { fp: 0, fn: 0, tp: 0, tn: 0 };

function compiled(spec: BusinessSpecPart): Array<[string, CompiledExpression, 'minimize' | 'maximize']> {
  return Object.entries(spec.business?.metrics ?? {}).map(([name, m]) => [name, compileExpression(m.expr), m.goal]);
}

/** The schema columns the spec's business metrics read per row (the evaluator then needs the raw test rows). */
export function businessColumns(spec: BusinessSpecPart): string[] {
  return [...new Set(compiled(spec).flatMap(([, c]) => c.columns))];
}

/** Per-row values of `names` (NaN where missing or not a number). */
function columnsOf(rows: readonly Row[] | undefined, names: readonly string[], n: number): Record<string, Float64Array> {
  return Object.fromEntries(
    names.map((name) => [name, Float64Array.from({ length: n }, (_, i) => {
      const v = rows?.[i]?.[name];
      return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    })]),
  );
}

/** A model's 0/1 decisions at its stored threshold (0 or unset: 0.5), as scores that decide the same at 0.5. */
export function decisionsAt(probs: ArrayLike<number>, threshold: number | undefined): Uint8Array {
  return decideAt(probs, storedThreshold(threshold));
}

/**
 * The spec's business metrics of one model on the test rows, its decisions taken at its own
 * threshold. A metric that is undefined on these rows (a division by zero, a missing column value)
 * is left out, so a floor on it fails as "could not be computed".
 */
export function businessMetricsOf(spec: BusinessSpecPart, y: ArrayLike<number>, model: ScoredModel, rows: readonly Row[] | undefined): Record<string, number> {
  const metrics = compiled(spec);
  if (metrics.length === 0) return {};
  const costs = spec.business?.costs ?? NO_COSTS;
  const columns = columnsOf(rows, [...new Set(metrics.flatMap(([, c]) => c.columns))], y.length);
  const input = { y, pred: decisionsAt(model.probs, model.threshold), columns };
  const out: Record<string, number> = {};
  for (const [name, c] of metrics) {
    const v = c.evaluate(input, costs);
    if (Number.isFinite(v)) out[name] = v;
  }
  return out;
}

/**
 * The paired evidence of a champion comparison on a business metric: a paired bootstrap of the
 * metric (each model deciding at its own threshold, the same resampled rows for both) with
 * libs/ml's `pairedBootstrap` and a custom metric, and the normal test of its standard error —
 * the same evidence the built-in metrics give the gates, so Holm's correction covers both.
 */
export function businessEvidence(
  spec: BusinessSpecPart,
  rule: Pick<Required<ChampionRule>, 'metric' | 'margin' | 'test'>,
  y: ArrayLike<number>,
  champion: ScoredModel,
  candidate: ScoredModel,
  rows: readonly Row[] | undefined,
  opts: EvidenceOptions = {},
): PairedEvidence {
  const n = y.length;
  const margin = rule.test === 'better' ? 0 : rule.margin;
  const base = { metric: rule.metric, test: rule.test, margin, n };
  const none = (method: string): PairedEvidence => noEvidence(base, method);
  const m = spec.business?.metrics[rule.metric];
  if (!m) return none(`'${rule.metric}' is not a business metric of the spec`);
  if (n < (opts.minSamples ?? 30)) return none('not enough data');
  const expr = compileExpression(m.expr);
  const costs = spec.business?.costs ?? NO_COSTS;
  const columns = columnsOf(rows, expr.columns, n);
  // pairedBootstrap resamples labels and one number per row; that number carries the row's index
  // and the model's decision (2·index + decision), so the metric can look up the row's values.
  const encode = (s: ScoredModel) => {
    const d = decisionsAt(s.probs, s.threshold);
    return Float64Array.from(d, (v, i) => 2 * i + v);
  };
  const metric: MetricFn = (yy, code) => {
    const pred = new Uint8Array(code.length);
    const picked: Record<string, Float64Array> = {};
    for (const name of expr.columns) picked[name] = new Float64Array(code.length);
    for (let k = 0; k < code.length; k++) {
      pred[k] = code[k] % 2;
      const i = (code[k] - pred[k]) / 2;
      for (const name of expr.columns) picked[name][k] = columns[name][i];
    }
    const v = expr.evaluate({ y: yy, pred, columns: picked }, costs);
    return Number.isFinite(v) ? v : null;
  };
  let boot: ReturnType<typeof pairedBootstrap>;
  try {
    boot = pairedBootstrap(y, encode(champion), encode(candidate), { metric, resamples: opts.resamples ?? 1000, seed: opts.seed ?? 0, confidence: opts.confidence ?? 0.95 });
  } catch (err) {
    // Undefined on the full rows or on most resamples (e.g. a ratio whose denominator is often 0).
    if (err instanceof MlInputError) return none(`${rule.metric} is undefined on these rows: ${err.message}`);
    throw err;
  }
  const oriented = orientedGain(boot, m.goal === 'minimize', opts.confidence ?? 0.95);
  return {
    ...base,
    ...oriented,
    pValue: zPValue(oriented.gain, margin, boot.standardError),
    method: `paired bootstrap, each model at its own threshold (${storedThreshold(candidate.threshold).toFixed(3)} vs ${storedThreshold(champion.threshold).toFixed(3)}; se ${boot.standardError.toPrecision(3)})`,
  };
}

/** The champion rules of a spec that compare a business metric. */
export function businessRulesOf(spec: BusinessSpecPart & Pick<PipelineSpec, 'gates'>): Array<Pick<Required<ChampionRule>, 'metric' | 'margin' | 'test'>> {
  const rules = Array.isArray(spec.gates.champion) ? spec.gates.champion : [spec.gates.champion];
  return rules.filter((r) => isBusinessMetric(spec, r.metric)).map((r) => ({ metric: r.metric, margin: r.margin, test: r.test ?? 'not-worse' }));
}

/** What {@link businessJudgement} reads: the judge's input, structurally. */
export type BusinessJudgeInput = {
  spec: BusinessSpecPart & Pick<PipelineSpec, 'gates'>;
  head?: 'binary' | 'regression';
  y: ArrayLike<number>;
  candidate: ArrayLike<number>;
  candidateThreshold?: number;
  champion?: { version: string; probs: ArrayLike<number>; threshold?: number };
  rows?: readonly Row[];
};

/** Business metrics of both models and the paired evidence of every business champion rule. */
export function businessJudgement(input: BusinessJudgeInput, opts: EvidenceOptions): { candidate: Record<string, number>; champion?: Record<string, number>; comparisons: Array<{ evidence: PairedEvidence }> } {
  if (input.head === 'regression' || !input.spec.business) return { candidate: {}, champion: input.champion && {}, comparisons: [] };
  const cand = { probs: input.candidate, threshold: input.candidateThreshold };
  const { champion, spec, y, rows } = input;
  return {
    candidate: businessMetricsOf(spec, y, cand, rows),
    champion: champion && businessMetricsOf(spec, y, champion, rows),
    comparisons: champion ? businessRulesOf(spec).map((rule) => ({ evidence: businessEvidence(spec, rule, y, champion, cand, rows, opts) })) : [],
  };
}
