import { consistencyOf, nearestNeighbours, type ConsistencyReport } from '@refit/ml';
import type { PipelineSpec } from '@refit/spec';

/** A raw test row (the same order as the test features). */
type Row = Record<string, string | number | boolean | null | undefined>;

/** Default neighbours per row when `gates.consistency` is set without `evaluation.consistency`. */
const DEFAULT_K = 5;

/**
 * The candidate's transformed test features: row-major `n × d`, columns `names` as the transform
 * names them, and `sources`, the feature names (the spec's `features`) those columns derive from.
 */
export type TestFeatures = { X: ArrayLike<number>; n: number; d: number; names: readonly string[]; sources: readonly string[] };

/** Individual fairness of both models, measured on the same neighbours. */
export type ConsistencyEvaluation = {
  /** Neighbours per row (lowered to n − 1 on tiny test sets). */
  k: number;
  /** Columns whose features were left out of the distance (and that define the groups). */
  exclude: string[];
  /** Transformed feature columns left out (e.g. `gender=female`, `gender=male`, `gender=__other__`). */
  dropped: string[];
  /** Feature columns the distance was computed on. */
  dimensions: number;
  /** The candidate's consistency: `score` on predicted labels (at its decision threshold), `probabilityScore` on scores. */
  candidate: ConsistencyReport;
  /** The champion's, on the same test rows and neighbours. */
  champion?: ConsistencyReport;
};

/** Whether the spec asks for the consistency score (the evaluation section or the gate). */
export function wantsConsistency(spec: Pick<PipelineSpec, 'evaluation' | 'gates'>): boolean {
  return Boolean(spec.evaluation.consistency || spec.gates.consistency);
}

/** The columns left out of the neighbour distance: `evaluation.consistency.exclude`, else every sensitive column. */
export function excludedColumns(spec: Pick<PipelineSpec, 'evaluation' | 'gates'>): string[] {
  const explicit = spec.evaluation.consistency?.exclude;
  if (explicit) return [...new Set(explicit)];
  return [...new Set([...spec.evaluation.sensitive, ...(spec.gates.fairness ?? []).map((r) => r.sensitive)])];
}

// How a transform names the outputs of feature `f`: `f` itself, `f=cat` (one-hot), `f<…`, `f[…`,
// `f>=…` (buckets), `f#k` (hash), `f.part` (date parts), `f:missing` (indicator).
const SUFFIX = /^(?:=|<|\[|>=|#|\.|:missing$)/;

/**
 * The source feature of a transformed column, from its name: the longest feature name that is the
 * whole column name or its prefix followed by one of the transform's separators. Undefined when
 * no feature matches.
 */
export function sourceFeatureOf(column: string, features: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const f of features) {
    const matches = column === f || (column.startsWith(f) && SUFFIX.test(column.slice(f.length)));
    if (matches && (best === undefined || f.length > best.length)) best = f;
  }
  return best;
}

/** Splits the transformed columns into those kept for the distance and those derived from an excluded column. */
export function splitColumns(names: readonly string[], features: readonly string[], exclude: readonly string[]): { keep: number[]; dropped: string[] } {
  const excluded = new Set(exclude);
  const keep: number[] = [];
  const dropped: string[] = [];
  names.forEach((name, c) => {
    const source = sourceFeatureOf(name, features);
    if (source !== undefined && excluded.has(source)) dropped.push(name);
    else keep.push(c);
  });
  return { keep, dropped };
}

function project(m: TestFeatures, keep: readonly number[]): Float64Array {
  const out = new Float64Array(m.n * keep.length);
  for (let i = 0; i < m.n; i++) for (let c = 0; c < keep.length; c++) out[i * keep.length + c] = m.X[i * m.d + keep[c]];
  return out;
}

/** What {@link evaluateConsistency} needs: the candidate's test features and both models' scores on those rows. */
export type ConsistencyInput = {
  spec: Pick<PipelineSpec, 'evaluation' | 'gates'>;
  features: TestFeatures;
  candidate: ArrayLike<number>;
  champion?: ArrayLike<number>;
  /** The raw test rows, aligned with the features: they give each row its group. Default none (no groups). */
  rows?: readonly Row[];
  /** Each model's decision threshold (a row's label is score ≥ threshold). Default 0.5 for both. */
  thresholds?: { candidate: number; champion: number };
};

/**
 * The consistency score (Zemel et al. 2013) of the candidate and the champion: every test row's k
 * nearest neighbours (Euclidean, exact; a seeded sample of 5,000 query rows above that) in the
 * CANDIDATE's transformed feature space without the features of the excluded columns — one space
 * for both models, so their scores are comparable — and how far each row's predicted label is from
 * its neighbours' mean label; overall and per group of each excluded column. Undefined when the
 * spec does not ask for it or the test split has fewer than 2 rows.
 */
export function evaluateConsistency(input: ConsistencyInput): ConsistencyEvaluation | undefined {
  const { spec, features: m } = input;
  if (!wantsConsistency(spec) || m.n < 2) return undefined;
  const exclude = excludedColumns(spec);
  const { keep, dropped } = splitColumns(m.names, m.sources, exclude);
  const nb = nearestNeighbours(project(m, keep), m.n, keep.length, { k: spec.evaluation.consistency?.k ?? DEFAULT_K });
  const { rows } = input;
  const groups = rows ? Object.fromEntries(exclude.map((c) => [c, rows.map((r) => (r[c] === null || r[c] === undefined ? null : String(r[c])))])) : {};
  const opts = { groups, minGroupSize: spec.evaluation.minGroupSize };
  const t = input.thresholds ?? { candidate: 0.5, champion: 0.5 };
  return {
    k: nb.k,
    exclude,
    dropped,
    dimensions: keep.length,
    candidate: consistencyOf(nb, input.candidate, { ...opts, threshold: t.candidate }),
    champion: input.champion ? consistencyOf(nb, input.champion, { ...opts, threshold: t.champion }) : undefined,
  };
}
