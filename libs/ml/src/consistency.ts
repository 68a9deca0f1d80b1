// Individual fairness: the consistency score of Zemel et al. (2013), "Learning Fair
// Representations" — similar individuals (nearest neighbours in feature space) should get
// similar predictions.
import { MlRangeError } from './errors.js';
import { createRng } from './random.js';
import { assertArrayLike, assertFinite, assertInt, assertOption, assertProbabilities } from './validate.js';

/** Options of {@link nearestNeighbours}. */
export interface NeighbourOptions {
  /** Neighbours per query row; lowered to the rows available (n − 1, or n with includeSelf). Default 5. */
  k?: number;
  /**
   * Above this many rows, a seeded uniform sample (without replacement) of this many rows is
   * queried — each still against ALL rows — and the result says `sampled: true`. Default 5000.
   */
  maxQueries?: number;
  /** Seed of that sample. Default 0. */
  seed?: number;
  /**
   * Count the query row as its own first neighbour, as AIF360 does (`kneighbors(X)` on the fitted
   * rows returns each row first). Default false: the k neighbours are other rows, as in Zemel et al.
   */
  includeSelf?: boolean;
}

/** The k nearest neighbours (Euclidean, exact) of each query row. */
export interface Neighbours {
  /** Rows searched. */
  n: number;
  /** Neighbours per query row (after lowering to the rows available). */
  k: number;
  /** Row index of each query row, ascending. */
  queries: Int32Array;
  /** `k` neighbour row indexes per query row, nearest first (ties: lower row index first). */
  neighbours: Int32Array;
  /** True when the query rows are a sample of the rows (n > maxQueries). */
  sampled: boolean;
  /** Whether each query row is its own first neighbour. */
  includeSelf: boolean;
}

/** Query rows chosen uniformly without replacement (partial Fisher-Yates), ascending. */
function sampleRows(n: number, m: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.subarray(0, m).sort();
}

/**
 * Exact k-nearest-neighbour search by brute force (Euclidean distance) on a row-major matrix.
 * Cost O(queries · n · d); a partial sum stops as soon as it exceeds the current k-th distance.
 * @param X - row-major `n × d` matrix of finite numbers.
 * @throws MlRangeError on a bad shape, a non-finite value, bad options, or fewer than 2 rows
 *   (1 with includeSelf).
 */
export function nearestNeighbours(X: ArrayLike<number>, n: number, d: number, opts: NeighbourOptions = {}): Neighbours {
  const fn = 'nearestNeighbours';
  const { k = 5, maxQueries = 5000, seed = 0, includeSelf = false } = opts;
  assertInt(n, 0, fn, 'n');
  assertInt(d, 0, fn, 'd');
  assertInt(k, 1, fn, 'k');
  assertInt(maxQueries, 1, fn, 'maxQueries');
  assertOption(seed, Number.isFinite, fn, 'seed', 'a finite number');
  assertArrayLike(X, fn, 'X');
  if (X.length !== n * d) throw new MlRangeError(`${fn}: X has length ${X.length}, expected n·d = ${n}·${d} = ${n * d}`);
  assertFinite(X, fn, 'X', true);
  if (n < (includeSelf ? 1 : 2)) throw new MlRangeError(`${fn}: needs at least ${includeSelf ? 1 : 2} rows, got ${n}`);
  const kk = Math.min(k, includeSelf ? n : n - 1);
  // Neighbours searched among the other rows: all k of them, or k − 1 after the row itself.
  const search = includeSelf ? kk - 1 : kk;
  const x = X instanceof Float64Array ? X : Float64Array.from(X);
  const sampled = n > maxQueries;
  const queries = sampled ? sampleRows(n, maxQueries, seed) : Int32Array.from({ length: n }, (_, i) => i);
  const neighbours = new Int32Array(queries.length * kk);
  const bestD = new Float64Array(search + 1);
  const bestI = new Int32Array(search + 1);
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi];
    const qo = q * d;
    let found = 0;
    for (let j = 0; j < n && search > 0; j++) {
      if (j === q) continue;
      const jo = j * d;
      const bound = found === search ? bestD[search - 1] : Infinity;
      let s = 0;
      for (let c = 0; c < d && s <= bound; c++) {
        const t = x[qo + c] - x[jo + c];
        s += t * t;
      }
      // Strictly closer only: among equal distances the lower row index (seen first) stays.
      if (s >= bound) continue;
      let p = found < search ? found++ : search - 1;
      while (p > 0 && bestD[p - 1] > s) {
        bestD[p] = bestD[p - 1];
        bestI[p] = bestI[p - 1];
        p--;
      }
      bestD[p] = s;
      bestI[p] = j;
    }
    const out = qi * kk;
    if (includeSelf) neighbours[out] = q;
    for (let m = 0; m < search; m++) neighbours[out + (includeSelf ? 1 : 0) + m] = bestI[m];
  }
  return { n, k: kk, queries, neighbours, sampled, includeSelf };
}

/** Options of {@link consistencyOf}. */
export interface ConsistencyOptions {
  /** Predictions are scores; the label is `score >= threshold`. Default 0.5. */
  threshold?: number;
  /** Sensitive columns (values per row, all n rows): each query row's score also counts toward its group. Default none. */
  groups?: Record<string, ArrayLike<string | number | null>>;
  /** Values each sensitive column is expected to take: absent ones are reported with n 0 and null scores. */
  expectedGroups?: Record<string, Array<string | number>>;
  /** Groups with fewer query rows are flagged `belowMinSize`. Default 30. */
  minGroupSize?: number;
}

/** The consistency of one group (its query rows). */
export interface GroupConsistency {
  /** The sensitive column. */
  sensitive: string;
  /** The group's value of that column ("(missing)" for null). */
  group: string;
  /** Query rows in the group. */
  n: number;
  /** Consistency of the labels over the group's query rows; null when it has none. */
  score: number | null;
  /** Consistency of the scores over the group's query rows; null when it has none. */
  probabilityScore: number | null;
  /** n < minGroupSize: report it, do not judge it. */
  belowMinSize: boolean;
}

/** The consistency of one model's predictions over a set of neighbours. */
export interface ConsistencyReport {
  /**
   * 1 − mean over query rows i of |ŷ_i − mean_{j ∈ kNN(i)} ŷ_j| with ŷ the predicted LABEL
   * (score ≥ threshold), as AIF360 computes it on a classified dataset. 1: every row gets the
   * label of all its neighbours.
   */
  score: number;
  /** The same with ŷ the predicted score (probability): also sensitive to changes that do not cross the threshold. */
  probabilityScore: number;
  /** Neighbours per query row. */
  k: number;
  /** Rows searched. */
  n: number;
  /** Query rows averaged over (n unless sampled). */
  queries: number;
  /** True when the query rows are a seeded sample of the rows. */
  sampled: boolean;
  /** Per sensitive column and value. */
  groups: GroupConsistency[];
}

const keyOf = (v: string | number | null | undefined): string => (v === null || v === undefined ? '(missing)' : String(v));

/**
 * The consistency score (Zemel et al. 2013; AIF360 `consistency`) of predictions `yPred` (scores in
 * [0, 1], one per row searched) over precomputed {@link nearestNeighbours}, overall and per group.
 * Computing the neighbours once and scoring several models on them keeps the models comparable.
 * @throws MlRangeError when yPred is not one probability per row, or on bad options or groups.
 */
export function consistencyOf(nb: Neighbours, yPred: ArrayLike<number>, opts: ConsistencyOptions = {}): ConsistencyReport {
  const fn = 'consistencyOf';
  const { threshold = 0.5, groups = {}, expectedGroups = {}, minGroupSize = 30 } = opts;
  assertOption(threshold, Number.isFinite, fn, 'threshold', 'a finite number');
  assertInt(minGroupSize, 0, fn, 'minGroupSize');
  assertProbabilities(yPred, fn, 'yPred');
  if (yPred.length !== nb.n) throw new MlRangeError(`${fn}: yPred has length ${yPred.length}, expected one per row searched (${nb.n})`);
  for (const [name, values] of Object.entries(groups)) {
    assertArrayLike(values, fn, `groups.${name}`);
    if (values.length !== nb.n) throw new MlRangeError(`${fn}: groups.${name} has length ${values.length}, expected ${nb.n}`);
  }
  const q = nb.queries.length;
  const label = Float64Array.from(yPred, (p) => (p >= threshold ? 1 : 0));
  // Per query row: |ŷ_i − mean of its neighbours' ŷ| for labels and for scores.
  const dl = new Float64Array(q);
  const dp = new Float64Array(q);
  for (let qi = 0; qi < q; qi++) {
    const i = nb.queries[qi];
    let sl = 0;
    let sp = 0;
    for (let m = 0; m < nb.k; m++) {
      const j = nb.neighbours[qi * nb.k + m];
      sl += label[j];
      sp += yPred[j];
    }
    dl[qi] = Math.abs(label[i] - sl / nb.k);
    dp[qi] = Math.abs(yPred[i] - sp / nb.k);
  }
  const scoreOf = (d: Float64Array, idx: number[] | null): number | null => {
    const count = idx ? idx.length : d.length;
    if (count === 0) return null;
    let s = 0;
    if (idx) for (const qi of idx) s += d[qi];
    else for (let qi = 0; qi < d.length; qi++) s += d[qi];
    return 1 - s / count;
  };
  const perGroup: GroupConsistency[] = Object.entries(groups).flatMap(([name, values]) => {
    const members = new Map<string, number[]>();
    for (const v of expectedGroups[name] ?? []) members.set(String(v), []);
    nb.queries.forEach((i, qi) => {
      const key = keyOf(values[i]);
      const list = members.get(key);
      if (list) list.push(qi);
      else members.set(key, [qi]);
    });
    return [...members].map(([group, idx]) => ({
      sensitive: name,
      group,
      n: idx.length,
      score: scoreOf(dl, idx),
      probabilityScore: scoreOf(dp, idx),
      belowMinSize: idx.length < minGroupSize,
    }));
  });
  return { score: scoreOf(dl, null) as number, probabilityScore: scoreOf(dp, null) as number, k: nb.k, n: nb.n, queries: q, sampled: nb.sampled, groups: perGroup };
}

/**
 * The consistency score of one model: {@link nearestNeighbours} of the rows of `X` (which should
 * leave out the sensitive columns), then {@link consistencyOf} its predictions.
 */
export function consistency(X: ArrayLike<number>, n: number, d: number, yPred: ArrayLike<number>, opts: NeighbourOptions & ConsistencyOptions = {}): ConsistencyReport {
  return consistencyOf(nearestNeighbours(X, n, d, opts), yPred, opts);
}
