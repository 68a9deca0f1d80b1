// Per-column drift verdicts with Evidently's automatic test choice, and dataset-level drift.
import { chiSquareHomogeneity, proportionZTest } from './categorical-tests.js';
import { jensenShannonCategorical, jensenShannonNumeric, wassersteinNormalized } from './distance.js';
import { MlRangeError, MlTypeError } from './errors.js';
import { ksTwoSample } from './ks.js';
import { benjaminiHochberg, holm } from './multiple-testing.js';
import { psi, psiCategorical } from './psi.js';
import { sortedSample } from './sort.js';
import { assertArrayLike, assertInt, assertOption } from './validate.js';

/** Drift tests available per column. */
export type DriftTest = 'ks' | 'chi-square' | 'z' | 'jensen-shannon' | 'wasserstein' | 'psi';

/** A column to check: numbers are numeric unless `type` says otherwise; strings are categorical. */
export interface DriftColumn {
  name: string;
  reference: ArrayLike<number> | ArrayLike<string>;
  current: ArrayLike<number> | ArrayLike<string>;
  /** Default: "numeric" when the reference holds numbers, else "categorical". */
  type?: 'numeric' | 'categorical';
}

/** Options of {@link columnDrift} and {@link datasetDrift}. */
export interface ColumnDriftOptions {
  /** Test to use; default "auto" (Evidently's rule, see {@link chooseDriftTest}). */
  test?: DriftTest | 'auto';
  /**
   * Drift threshold. For p-value tests (ks, chi-square, z) drift when p < threshold, default
   * 0.05; for distances drift when value >= threshold, default 0.1 (jensen-shannon,
   * wasserstein normalised by the reference std, psi).
   */
  threshold?: number;
  /** Below this many rows in either sample the verdict is "not-enough-data"; default 30. */
  minSamples?: number;
}

/** Verdict for one column. */
export interface ColumnDriftResult {
  column: string;
  type: 'numeric' | 'categorical';
  test: DriftTest;
  /** The test statistic or distance; null when there was not enough data. */
  statistic: number | null;
  /** p-value for ks / chi-square / z; null for distances or when there was not enough data. */
  pValue: number | null;
  /** p-value after the dataset-level multiple-testing correction (equals pValue when none). */
  adjustedPValue: number | null;
  threshold: number;
  status: 'drift' | 'no-drift' | 'not-enough-data';
  referenceSize: number;
  currentSize: number;
}

const P_VALUE_TESTS: ReadonlySet<DriftTest> = new Set(['ks', 'chi-square', 'z']);

function distinctCount(a: ArrayLike<unknown>, b: ArrayLike<unknown>, cap: number): number {
  const seen = new Set<unknown>();
  for (const x of [a, b]) {
    for (let i = 0; i < x.length; i++) {
      seen.add(x[i]);
      // Only "<= 5" and "> 2" matter for the choice; stop counting early on big columns.
      if (seen.size > cap) return seen.size;
    }
  }
  return seen.size;
}

/**
 * Evidently's default test choice (`get_default_stattest`): with a reference of <= 1000 rows,
 * numeric columns with > 5 distinct values use KS, else chi-square (z-test when <= 2 values),
 * categorical ones chi-square (z-test when <= 2 values); with > 1000 reference rows, numeric
 * columns use normalised Wasserstein (Jensen-Shannon when <= 5 values) and categorical ones
 * Jensen-Shannon.
 */
export function chooseDriftTest(type: 'numeric' | 'categorical', referenceSize: number, distinctValues: number): DriftTest {
  if (referenceSize <= 1000) {
    if (type === 'numeric' && distinctValues > 5) return 'ks';
    return distinctValues > 2 ? 'chi-square' : 'z';
  }
  if (type === 'numeric') return distinctValues <= 5 ? 'jensen-shannon' : 'wasserstein';
  return 'jensen-shannon';
}

const asCategories = (x: ArrayLike<number> | ArrayLike<string>): ArrayLike<string | number> => x as ArrayLike<string | number>;

/**
 * Drift verdict for one column.
 * @throws MlRangeError/MlTypeError on invalid data (NaN, infinities, numbers declared
 *   categorical are fine, strings declared numeric are not) or invalid options.
 */
export function columnDrift(column: DriftColumn, opts: ColumnDriftOptions = {}): ColumnDriftResult {
  const fn = `columnDrift(${column.name})`;
  assertArrayLike(column.reference, fn, 'reference');
  assertArrayLike(column.current, fn, 'current');
  const minSamples = opts.minSamples ?? 30;
  assertInt(minSamples, 1, fn, 'minSamples');
  const type = column.type ?? (column.reference.length > 0 && typeof column.reference[0] === 'string' ? 'categorical' : 'numeric');
  if (type === 'numeric' && column.reference.length > 0 && typeof column.reference[0] !== 'number') {
    throw new MlTypeError(`${fn}: reference[0] is not a number in a numeric column`);
  }
  const nRef = column.reference.length;
  const nCur = column.current.length;
  const requested = opts.test ?? 'auto';
  const test = requested === 'auto' ? chooseDriftTest(type, nRef, distinctCount(column.reference, column.current, 6)) : requested;
  const isP = P_VALUE_TESTS.has(test);
  const threshold = opts.threshold ?? (isP ? 0.05 : 0.1);
  assertOption(threshold, (t) => t > 0 && Number.isFinite(t), fn, 'threshold', 'a positive finite number');
  const base = { column: column.name, type, test, threshold, referenceSize: nRef, currentSize: nCur };
  if (nRef < minSamples || nCur < minSamples) {
    return { ...base, statistic: null, pValue: null, adjustedPValue: null, status: 'not-enough-data' };
  }
  let statistic: number;
  let pValue: number | null = null;
  const numeric = (): ArrayLike<number> => column.reference as ArrayLike<number>;
  switch (test) {
    case 'ks': {
      if (type !== 'numeric') throw new MlRangeError(`${fn}: the ks test needs a numeric column`);
      const r = ksTwoSample(sortedSample(numeric(), fn, 'reference'), sortedSample(column.current as ArrayLike<number>, fn, 'current'));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
    case 'chi-square': {
      const r = chiSquareHomogeneity(asCategories(column.reference), asCategories(column.current));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
    case 'z': {
      const r = proportionZTest(asCategories(column.reference), asCategories(column.current));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
    case 'jensen-shannon':
      statistic =
        type === 'numeric' && distinctCount(column.reference, column.current, 5) > 5
          ? jensenShannonNumeric(numeric(), column.current as ArrayLike<number>)
          : jensenShannonCategorical(asCategories(column.reference), asCategories(column.current));
      break;
    case 'wasserstein':
      if (type !== 'numeric') throw new MlRangeError(`${fn}: the wasserstein test needs a numeric column`);
      statistic = wassersteinNormalized(numeric(), column.current as ArrayLike<number>);
      break;
    case 'psi':
      statistic =
        type === 'numeric'
          ? psi(numeric(), column.current as ArrayLike<number>).value
          : psiCategorical(asCategories(column.reference), asCategories(column.current)).value;
      break;
    default:
      throw new MlRangeError(`${fn}: unknown test ${String(test)}`);
  }
  const drift = isP ? (pValue as number) < threshold : statistic >= threshold;
  return { ...base, statistic, pValue, adjustedPValue: pValue, status: drift ? 'drift' : 'no-drift' };
}

/** Options of {@link datasetDrift}. */
export interface DatasetDriftOptions extends ColumnDriftOptions {
  /** The dataset drifts when the share of drifted columns is >= driftShare; default 0.5 (Evidently). */
  driftShare?: number;
  /**
   * Multiple-testing correction over the p-value-based columns: "none" (default, Evidently's
   * behaviour), "holm" (family-wise error) or "bh" (Benjamini-Hochberg false discovery rate).
   * Verdicts then use the adjusted p-values.
   */
  correction?: 'none' | 'holm' | 'bh';
  /** Per-column overrides of test / threshold, by column name. */
  perColumn?: Record<string, Pick<ColumnDriftOptions, 'test' | 'threshold'>>;
}

/** Result of {@link datasetDrift}. */
export interface DatasetDriftResult {
  columns: ColumnDriftResult[];
  /** Columns with a verdict (not "not-enough-data"). */
  evaluatedColumns: number;
  driftedColumns: number;
  /** driftedColumns / evaluatedColumns; null when no column could be evaluated. */
  share: number | null;
  /** "not-enough-data" when no column could be evaluated. */
  status: 'drift' | 'no-drift' | 'not-enough-data';
  correction: 'none' | 'holm' | 'bh';
}

/**
 * Dataset-level drift: a verdict per column, an optional multiple-testing correction across the
 * p-value columns, the share of drifted columns and the overall verdict.
 * @param opts.driftShare - default 0.5; opts.correction - default "none"; other options as
 *   {@link columnDrift} (minSamples default 30).
 */
export function datasetDrift(columns: DriftColumn[], opts: DatasetDriftOptions = {}): DatasetDriftResult {
  const driftShare = opts.driftShare ?? 0.5;
  const correction = opts.correction ?? 'none';
  assertOption(driftShare, (s) => s > 0 && s <= 1, 'datasetDrift', 'driftShare', 'a number in (0, 1]');
  if (!['none', 'holm', 'bh'].includes(correction)) throw new MlRangeError(`datasetDrift: option correction is ${String(correction)}, expected "none", "holm" or "bh"`);
  const names = new Set<string>();
  const results = columns.map((c) => {
    if (names.has(c.name)) throw new MlRangeError(`datasetDrift: duplicate column name ${c.name}`);
    names.add(c.name);
    return columnDrift(c, { ...opts, ...(opts.perColumn?.[c.name] ?? {}) });
  });
  const tested = results.filter((r) => r.pValue !== null);
  if (correction !== 'none' && tested.length > 0) {
    const adj = (correction === 'holm' ? holm : benjaminiHochberg)(tested.map((r) => r.pValue as number));
    tested.forEach((r, i) => {
      r.adjustedPValue = adj[i];
      r.status = adj[i] < r.threshold ? 'drift' : 'no-drift';
    });
  }
  const evaluated = results.filter((r) => r.status !== 'not-enough-data');
  const drifted = evaluated.filter((r) => r.status === 'drift').length;
  const share = evaluated.length === 0 ? null : drifted / evaluated.length;
  return {
    columns: results,
    evaluatedColumns: evaluated.length,
    driftedColumns: drifted,
    share,
    status: share === null ? 'not-enough-data' : share >= driftShare ? 'drift' : 'no-drift',
    correction,
  };
}
