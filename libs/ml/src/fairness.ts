// Group fairness metrics with Fairlearn's definitions (between-groups max - min and min / max),
// for each sensitive column and their intersection, with bootstrap intervals.
import { MlRangeError } from './errors.js';
import { quantileSorted } from './quantile.js';
import { createResampler } from './random.js';
import { assertArrayLike, assertBinaryLabels, assertFinite, assertInt, assertOption, assertSameLength } from './validate.js';

/** Rates of one group. */
export interface GroupRates {
  /** Group label; intersections are joined as "sex=F & race=B". */
  group: string;
  /** Value per sensitive column. */
  key: Record<string, string | number>;
  n: number;
  positives: number;
  negatives: number;
  /** Share predicted positive; null for an expected group with no rows. */
  selectionRate: number | null;
  /** True positive rate; null when the group has no positive. */
  tpr: number | null;
  /** False positive rate; null when the group has no negative. */
  fpr: number | null;
  /** n < minGroupSize: reported, excluded from the disparity metrics. */
  belowMinSize: boolean;
}

/** The disparity metrics; each is null when fewer than two eligible groups define it. */
export interface Disparities {
  demographicParityDifference: number | null;
  demographicParityRatio: number | null;
  equalizedOddsDifference: number | null;
  equalizedOddsRatio: number | null;
  equalOpportunityDifference: number | null;
}

/** A percentile interval, null when too few resamples defined the metric. */
export type Interval = { lower: number; upper: number } | null;

/** Fairness of one set of sensitive columns. */
export interface FairnessReport extends Disparities {
  /** Sensitive columns defining the groups (several = their intersection). */
  sensitive: string[];
  groups: GroupRates[];
  /** Labels of groups below minGroupSize, reported but not used in the disparities. */
  excludedGroups: string[];
  /** Bootstrap percentile intervals; null when opts.resamples is 0. */
  intervals: Record<keyof Disparities, Interval> | null;
}

/** Options of {@link fairness}. */
export interface FairnessOptions {
  /** When set, yPred holds scores and positive means score >= threshold; default: 0/1 labels. */
  threshold?: number;
  /** Groups smaller than this are reported but excluded from disparities; default 30. */
  minGroupSize?: number;
  /** Also report the intersection of all sensitive columns when there are several; default true. */
  intersections?: boolean;
  /** Bootstrap resamples for the intervals (0 disables); default 500. */
  resamples?: number;
  /** Bootstrap seed; default 0. */
  seed?: number;
  /** Interval confidence; default 0.95. */
  confidence?: number;
  /**
   * Values each sensitive column is expected to take. Expected values absent from the data are
   * reported as groups of size 0 (and listed in excludedGroups) instead of vanishing.
   */
  expectedGroups?: Record<string, Array<string | number>>;
}

const KEYS: Array<keyof Disparities> = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
  'equalizedOddsRatio',
  'equalOpportunityDifference',
];

interface Counts {
  n: Float64Array;
  sel: Float64Array;
  pos: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
}

function spread(values: Array<number | null>): { diff: number; ratio: number | null } | null {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 2) return null;
  const max = Math.max(...v);
  const min = Math.min(...v);
  return { diff: max - min, ratio: max === 0 ? null : min / max };
}

function disparities(c: Counts, eligible: number[]): Disparities {
  const sel = spread(eligible.map((g) => (c.n[g] === 0 ? null : c.sel[g] / c.n[g])));
  const tpr = spread(eligible.map((g) => (c.pos[g] === 0 ? null : c.tp[g] / c.pos[g])));
  const fpr = spread(eligible.map((g) => (c.n[g] - c.pos[g] === 0 ? null : c.fp[g] / (c.n[g] - c.pos[g]))));
  const both = tpr !== null && fpr !== null;
  return {
    demographicParityDifference: sel?.diff ?? null,
    demographicParityRatio: sel?.ratio ?? null,
    equalizedOddsDifference: both ? Math.max(tpr.diff, fpr.diff) : null,
    equalizedOddsRatio: both && tpr.ratio !== null && fpr.ratio !== null ? Math.min(tpr.ratio, fpr.ratio) : null,
    equalOpportunityDifference: tpr?.diff ?? null,
  };
}

function count(groupOf: Int32Array, k: number, y: ArrayLike<number>, pred: Uint8Array, w: Uint32Array | null): Counts {
  const c: Counts = { n: new Float64Array(k), sel: new Float64Array(k), pos: new Float64Array(k), tp: new Float64Array(k), fp: new Float64Array(k) };
  for (let i = 0; i < groupOf.length; i++) {
    const wi = w === null ? 1 : w[i];
    if (wi === 0) continue;
    const g = groupOf[i];
    c.n[g] += wi;
    if (pred[i]) c.sel[g] += wi;
    if (y[i] === 1) {
      c.pos[g] += wi;
      if (pred[i]) c.tp[g] += wi;
    } else if (pred[i]) c.fp[g] += wi;
  }
  return c;
}

/**
 * Per-group selection rate, TPR and FPR, and the Fairlearn disparity metrics
 * (demographic parity difference/ratio, equalized odds difference/ratio, equal opportunity
 * difference) for each sensitive column and, with several, their intersection. Groups below
 * `minGroupSize` are listed (`belowMinSize`, `excludedGroups`) and left out of the disparities;
 * TPR (FPR) disparities use the eligible groups that have positives (negatives).
 * @param yTrue - 0/1 labels; yPred - 0/1 predictions, or scores with `opts.threshold`.
 * @param sensitive - column name -> values (strings or numbers), one per row.
 * @param opts - threshold, minGroupSize (30), intersections (true), resamples (500), seed (0),
 *   confidence (0.95).
 */
export function fairness(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  sensitive: Record<string, ArrayLike<string | number>>,
  opts: FairnessOptions = {},
): FairnessReport[] {
  const fn = 'fairness';
  const minGroupSize = opts.minGroupSize ?? 30;
  const resamples = opts.resamples ?? 500;
  const confidence = opts.confidence ?? 0.95;
  const seed = opts.seed ?? 0;
  assertInt(minGroupSize, 1, fn, 'minGroupSize');
  assertInt(resamples, 0, fn, 'resamples');
  assertOption(confidence, (c) => c > 0 && c < 1, fn, 'confidence', 'a number in (0, 1)');
  assertBinaryLabels(yTrue, fn, 'yTrue');
  if (opts.threshold === undefined) assertBinaryLabels(yPred, fn, 'yPred');
  else assertFinite(yPred, fn, 'yPred');
  assertSameLength(yTrue, yPred, fn, 'yTrue', 'yPred');
  const names = Object.keys(sensitive);
  if (names.length === 0) throw new MlRangeError(`${fn}: no sensitive column given`);
  for (const name of names) {
    assertArrayLike(sensitive[name], fn, `sensitive.${name}`);
    assertSameLength(yTrue, sensitive[name], fn, 'yTrue', `sensitive.${name}`);
    for (let i = 0; i < yTrue.length; i++) {
      const v = sensitive[name][i];
      if (typeof v === 'number' ? Number.isNaN(v) : typeof v !== 'string') {
        throw new MlRangeError(`${fn}: sensitive.${name}[${i}] is ${typeof v === 'number' ? 'NaN' : String(v)}, expected a string or number`);
      }
    }
  }
  const t = opts.threshold;
  const pred = Uint8Array.from({ length: yTrue.length }, (_, i) => (t === undefined ? yPred[i] : yPred[i] >= t ? 1 : 0));
  const sets = names.map((n) => [n]);
  if ((opts.intersections ?? true) && names.length > 1) sets.push(names);
  return sets.map((cols) => report(cols, sensitive, yTrue, pred, minGroupSize, resamples, seed, confidence, opts.expectedGroups));
}

function report(
  cols: string[],
  sensitive: Record<string, ArrayLike<string | number>>,
  y: ArrayLike<number>,
  pred: Uint8Array,
  minGroupSize: number,
  resamples: number,
  seed: number,
  confidence: number,
  expected: Record<string, Array<string | number>> | undefined,
): FairnessReport {
  const n = y.length;
  const index = new Map<string, number>();
  const keys: Array<Record<string, string | number>> = [];
  const labels: string[] = [];
  const groupOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = cols.length === 1 ? String(sensitive[cols[0]][i]) : cols.map((c) => `${c}=${String(sensitive[c][i])}`).join(' & ');
    let g = index.get(label);
    if (g === undefined) {
      g = labels.length;
      index.set(label, g);
      labels.push(label);
      keys.push(Object.fromEntries(cols.map((c) => [c, sensitive[c][i]])));
    }
    groupOf[i] = g;
  }
  if (cols.length === 1 && expected?.[cols[0]]) {
    for (const v of expected[cols[0]]) {
      if (!index.has(String(v))) {
        index.set(String(v), labels.length);
        labels.push(String(v));
        keys.push({ [cols[0]]: v });
      }
    }
  }
  const k = labels.length;
  const c = count(groupOf, k, y, pred, null);
  const groups: GroupRates[] = labels.map((group, g) => ({
    group,
    key: keys[g],
    n: c.n[g],
    positives: c.pos[g],
    negatives: c.n[g] - c.pos[g],
    selectionRate: c.n[g] === 0 ? null : c.sel[g] / c.n[g],
    tpr: c.pos[g] === 0 ? null : c.tp[g] / c.pos[g],
    fpr: c.n[g] - c.pos[g] === 0 ? null : c.fp[g] / (c.n[g] - c.pos[g]),
    belowMinSize: c.n[g] < minGroupSize,
  }));
  const eligible = groups.flatMap((g, i) => (g.belowMinSize ? [] : [i]));
  const point = disparities(c, eligible);
  let intervals: FairnessReport['intervals'] = null;
  if (resamples > 0) {
    const resample = createResampler(seed);
    const w = new Uint32Array(n);
    const samples = KEYS.map(() => [] as number[]);
    for (let r = 0; r < resamples; r++) {
      resample(w);
      const d = disparities(count(groupOf, k, y, pred, w), eligible);
      KEYS.forEach((key, m) => {
        const v = d[key];
        if (v !== null) samples[m].push(v);
      });
    }
    const alpha = 1 - confidence;
    intervals = Object.fromEntries(
      KEYS.map((key, m) => {
        const s = Float64Array.from(samples[m]).sort();
        // Require most resamples to define the metric, or the interval means little.
        return [key, s.length < resamples / 2 ? null : { lower: quantileSorted(s, alpha / 2), upper: quantileSorted(s, 1 - alpha / 2) }];
      }),
    ) as Record<keyof Disparities, Interval>;
  }
  return { sensitive: cols, groups, excludedGroups: groups.filter((g) => g.belowMinSize).map((g) => g.group), ...point, intervals };
}
